import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { redisStore } from '../../src/stores/redis/index.js';
import { skipOrFail, useRedis } from '../helpers/redis-server.js';
import { assertLegacySessionReads, legacyRecordJson, randomId, randomKey, sampleRecord, testStore } from './conformance.js';

const redis = await useRedis();
const runPrefix = `tessera-test-${randomBytes(6).toString('hex')}:`;
let admin: Redis | undefined;

async function keysWithPrefix(client: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

before(() => {
  if ('url' in redis) admin = new Redis(redis.url);
});
after(async () => {
  if (admin !== undefined) {
    const keys = await keysWithPrefix(admin, runPrefix);
    for (let i = 0; i < keys.length; i += 500) await admin.del(...keys.slice(i, i + 500));
    await admin.quit();
  }
  if ('dispose' in redis) await redis.dispose();
});

testStore(
  'redis',
  async () => ('skip' in redis ? skipOrFail(redis.skip) : redisStore({ url: redis.url }, { prefix: `${runPrefix}conformance:` })),
  { sharedBackend: true },
);

describe('redis store layout', { skip: 'skip' in redis ? skipOrFail(redis.skip).skip : false }, () => {
  const url = 'url' in redis ? redis.url : '';
  const client = () => {
    assert.ok(admin);
    return admin;
  };

  it('gives every key it writes a TTL', async () => {
    const prefix = `${runPrefix}ttl-${randomId()}:`;
    const store = redisStore({ url }, { prefix });
    try {
      const alice = sampleRecord();
      const keys = [randomKey(), randomKey(), randomKey()];
      for (const key of keys) await store.set(key, alice, 60_000);
      await store.set(randomKey(), sampleRecord(), 60_000);
      const now = Date.now();
      await store.touch(keys[0] as string, now, now + 120_000, 120_000);
      await store.delete(keys[1] as string);
      await store.putOnce('jti:ttl', 60_000);
      const written = await keysWithPrefix(client(), prefix);
      assert.ok(written.length >= 6, `expected session, index and marker keys, found ${written.join(', ')}`);
      for (const key of written) {
        const ttl = await client().pttl(key);
        assert.ok(ttl > 0, `${key} has PTTL ${ttl}`);
      }
      // The user index lives at least as long as the session touched to 120 s.
      assert.ok((await client().pttl(`${prefix}u:${alice.sub}`)) > 60_000);
    } finally {
      await store.close();
    }
  });

  it('keeps a session, with its indexes, small, and the per-request key under 1 KB whatever the tokens weigh', async (t) => {
    // MEMORY USAGE includes the allocator's rounding, so the overhead is measured for two sizes of
    // sealed tokens; the tokens themselves cost what they cost, in their own key.
    const sessions = 50;
    for (const tokenLength of [100, 1500]) {
      const prefix = `${runPrefix}size-${tokenLength}-${randomId()}:`;
      const store = redisStore({ url }, { prefix });
      try {
        const sealedTokens = 'x'.repeat(tokenLength);
        const keys = Array.from({ length: sessions }, () => randomKey());
        for (const key of keys) await store.set(key, sampleRecord({ sealedTokens }), 60_000);
        let bytes = 0;
        for (const key of await keysWithPrefix(client(), prefix)) bytes += Number(await client().call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
        let hotBytes = 0;
        for (const key of keys) hotBytes += Number(await client().call('MEMORY', 'USAGE', `${prefix}s:${key}`, 'SAMPLES', '0'));
        const perSession = Math.round(bytes / sessions);
        const hotPerSession = Math.round(hotBytes / sessions);
        const overhead = perSession - tokenLength;
        t.diagnostic(`redis: ${perSession} bytes per session with ${tokenLength}-character sealed tokens (own user and sid index each): ${overhead} bytes beyond the tokens; the key the per-request read touches: ${hotPerSession} bytes`);
        assert.ok(overhead <= 1024, `overhead ${overhead} bytes per session`);
        assert.ok(hotPerSession <= 1024, `per-request key ${hotPerSession} bytes`);
      } finally {
        await store.close();
      }
    }
  });

  it('keeps the tokens in their own key, with the session\'s TTL, touched and deleted with it', async () => {
    const prefix = `${runPrefix}tokens-${randomId()}:`;
    const store = redisStore({ url }, { prefix });
    try {
      const key = randomKey();
      const record = sampleRecord();
      await store.set(key, record, 60_000);
      const sessionKey = `${prefix}s:${key}`;
      const tokensKey = `${prefix}t:{${sessionKey}}`;
      assert.ok(!(await client().get(sessionKey))?.includes(record.sealedTokens), 'the session key has no tokens');
      assert.equal(await client().get(tokensKey), record.sealedTokens);
      const now = Date.now();
      await store.touch(key, now, now + 120_000, 120_000);
      const [sessionTtl, tokensTtl] = [await client().pttl(sessionKey), await client().pttl(tokensKey)];
      assert.ok(sessionTtl > 60_000 && Math.abs(sessionTtl - tokensTtl) < 1000, `TTLs ${sessionTtl} and ${tokensTtl}`);
      assert.equal(await store.delete(key), true);
      assert.equal(await client().exists(sessionKey, tokensKey), 0);
    } finally {
      await store.close();
    }
  });

  it('reads a session written before the tokens moved out (tokens in its JSON), until the next set', async () => {
    const prefix = `${runPrefix}legacy-${randomId()}:`;
    const store = redisStore({ url }, { prefix });
    try {
      const key = randomKey();
      const record = sampleRecord();
      const json = legacyRecordJson(record);
      await client().set(`${prefix}s:${key}`, `1|${record.idleExpiresAt}|${record.lastSeenAt}|${record.absoluteExpiresAt}|${json}`, 'PX', 60_000);
      await client().hset(`${prefix}u:${record.sub}`, key, String(record.idleExpiresAt));
      await client().pexpire(`${prefix}u:${record.sub}`, 60_000);
      await assertLegacySessionReads(store, key, record);
    } finally {
      await store.close();
    }
  });

  it('prunes long-expired entries from a user index as it grows', async () => {
    const prefix = `${runPrefix}prune-${randomId()}:`;
    const store = redisStore({ url }, { prefix });
    try {
      const sub = `user-${randomId()}`;
      const index = `${prefix}u:${sub}`;
      const past = Date.now() - 120_000;
      for (let i = 0; i < 20; i++) await client().hset(index, `gone-${i}`, String(past));
      await client().pexpire(index, 60_000);
      const key = randomKey();
      await store.set(key, sampleRecord({ sub }), 60_000);
      assert.deepEqual(await client().hkeys(index), [key]);
    } finally {
      await store.close();
    }
  });

  it('keeps stores with different prefixes apart', async () => {
    const a = redisStore({ url }, { prefix: `${runPrefix}a:` });
    const b = redisStore({ url }, { prefix: `${runPrefix}b:` });
    try {
      const key = randomKey();
      const record = sampleRecord();
      await a.set(key, record, 60_000);
      assert.equal(await b.get(key), undefined);
      assert.equal(await b.deleteByUser(record.sub), 0);
      assert.ok(await a.get(key));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('uses a client passed in and leaves it open on close', async () => {
    const own = new Redis(url);
    const store = redisStore({ client: own }, { prefix: `${runPrefix}own:` });
    const key = randomKey();
    await store.set(key, sampleRecord(), 60_000);
    assert.ok(await store.get(key));
    await store.close();
    assert.equal(await own.ping(), 'PONG');
    await own.quit();
  });

  it('treats a value it cannot read as a missing session', async () => {
    const prefix = `${runPrefix}garbage-${randomId()}:`;
    const store = redisStore({ url }, { prefix });
    try {
      const key = randomKey();
      await client().set(`${prefix}s:${key}`, 'not a session', 'PX', 60_000);
      assert.equal(await store.get(key), undefined);
      assert.equal(await store.delete(key), false);
    } finally {
      await store.close();
    }
  });
});
