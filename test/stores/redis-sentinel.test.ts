import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { openStore } from '../../src/stores/open.js';
import { redisServerAvailable, skipOrFail, startRedisSentinel } from '../helpers/redis-server.js';
import { randomKey, sampleRecord, testStore } from './conformance.js';

const sentinel = redisServerAvailable() ? await startRedisSentinel() : skipOrFail('redis-server is not on PATH');
const prefix = `tessera-test-${randomBytes(6).toString('hex')}:`;
const spec = 'skip' in sentinel ? '' : `redis-sentinel://127.0.0.1:${sentinel.sentinelPort}/${sentinel.name}`;

after(async () => {
  if ('dispose' in sentinel) await sentinel.dispose();
});

// Opened through TESSERA_STORE's form, so the spec parsing and the Sentinel connection are both real.
testStore('redis-sentinel', async () => ('skip' in sentinel ? sentinel : openStore(spec, { prefix })), { sharedBackend: true });

describe('redis-sentinel store master', { skip: 'skip' in sentinel ? sentinel.skip : false }, () => {
  it('writes to the master the Sentinel names', async () => {
    assert.ok('master' in sentinel);
    const store = openStore(spec, { prefix });
    try {
      const key = randomKey();
      await store.set(key, sampleRecord(), 60_000);
      const master = new Redis(sentinel.master.url);
      assert.equal(await master.exists(`${prefix}s:${key}`), 1);
      await master.quit();
    } finally {
      await store.close();
    }
  });
});
