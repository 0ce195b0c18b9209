import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Cluster } from 'ioredis';
import { redisStore } from '../../src/stores/redis/index.js';
import { redisClusterAvailable, startRedisCluster } from '../helpers/redis-cluster.js';
import { skipOrFail } from '../helpers/redis-server.js';
import { randomId, randomKey, sampleRecord, testStore } from './conformance.js';

const cluster = redisClusterAvailable() ? await startRedisCluster() : skipOrFail('redis-server or redis-cli is not on PATH');
const prefix = `tessera-test-${randomBytes(6).toString('hex')}:`;

after(async () => {
  if ('dispose' in cluster) await cluster.dispose();
});

testStore('redis-cluster', async () => ('skip' in cluster ? cluster : redisStore({ nodes: cluster.nodes }, { prefix })), { sharedBackend: true });

describe('redis-cluster store across nodes', { skip: 'skip' in cluster ? cluster.skip : false }, () => {
  it("deletes and lists a user's sessions when they live on different nodes", async () => {
    assert.ok('nodes' in cluster);
    const store = redisStore({ nodes: cluster.nodes }, { prefix: `${prefix}spread:` });
    const admin = new Cluster(cluster.nodes);
    try {
      const sub = `user-${randomId()}`;
      const keys = Array.from({ length: 30 }, () => randomKey());
      for (const key of keys) await store.set(key, sampleRecord({ sub, sid: `sid-${randomId()}` }), 60_000);
      const perNode = await Promise.all(admin.nodes('master').map((node) => node.dbsize()));
      assert.ok(perNode.filter((n) => n > 0).length >= 2, `keys on more than one node: ${perNode.join(', ')}`);
      assert.equal((await store.listByUser(sub)).length, 30);
      assert.equal(await store.deleteByUser(sub), 30);
      for (const key of keys) assert.equal(await store.get(key), undefined);
    } finally {
      await store.close();
      await admin.quit();
    }
  });

  it('keeps a session and its tokens in one slot, also with a prefix that has its own hash tag', async () => {
    assert.ok('nodes' in cluster);
    for (const tagged of [`${prefix}plain:`, `{${prefix}tagged}:`]) {
      const store = redisStore({ nodes: cluster.nodes }, { prefix: tagged });
      try {
        const key = randomKey();
        const record = sampleRecord();
        await store.set(key, record, 60_000);
        assert.equal(await store.getTokens(key), record.sealedTokens, tagged);
        const now = Date.now();
        await store.touch(key, now, now + 60_000, 60_000);
        assert.equal(await store.deleteBySid(record.sid as string), 1);
        assert.equal(await store.getTokens(key), undefined);
      } finally {
        await store.close();
      }
    }
  });
});
