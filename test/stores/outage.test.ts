import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { isTesseraError } from '../../src/errors.js';
import { redisStore } from '../../src/stores/redis/index.js';
import type { SessionStore } from '../../src/stores/types.js';
import { freePort, redisServerAvailable, skipOrFail, sleep, startRedisServer } from '../helpers/redis-server.js';
import { hot, randomKey, sampleRecord } from './conformance.js';

const skip = redisServerAvailable() ? false : skipOrFail('redis-server is not on PATH').skip;
const minute = 60_000;
const unavailable = (err: unknown) => isTesseraError(err, 'ERR_STORE_UNAVAILABLE') && err.status === 503;

/** Calls `get` until it answers instead of rejecting (bounded), as a gateway's next requests would. */
async function getOnceRecovered(store: SessionStore, key: string, withinMs: number) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return await store.get(key);
    } catch (err) {
      assert.ok(unavailable(err), `only ERR_STORE_UNAVAILABLE while recovering, got ${String(err)}`);
      if (Date.now() > deadline) throw new Error(`store did not recover within ${withinMs} ms`, { cause: err });
      await sleep(200);
    }
  }
}

describe('redis store through an outage', { skip }, () => {
  it('rejects with ERR_STORE_UNAVAILABLE while Redis is down, then recovers by itself with no acknowledged session lost', { timeout: 60_000 }, async (t) => {
    // AOF with fsync on every write from the start, so a killed server keeps what it acknowledged.
    const server = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    const store = redisStore({ url: server.url });
    try {
      const key = randomKey();
      const record = sampleRecord();
      await store.set(key, record, 10 * minute);
      assert.equal(await store.putOnce('jti:before-outage', 10 * minute), true);

      await server.stop('SIGKILL');
      const started = Date.now();
      await assert.rejects(store.get(key), unavailable);
      await assert.rejects(store.getTokens(key), unavailable);
      await assert.rejects(store.set(randomKey(), sampleRecord(), minute), unavailable);
      await assert.rejects(store.touch(key, Date.now(), Date.now() + minute, minute), unavailable);
      await assert.rejects(store.delete(randomKey()), unavailable);
      await assert.rejects(store.deleteByUser(record.sub), unavailable);
      await assert.rejects(store.listByUser(record.sub), unavailable);
      await assert.rejects(store.putOnce('jti:during-outage', minute), unavailable);
      await assert.rejects(store.ping(), unavailable);
      t.diagnostic(`nine calls rejected within ${Date.now() - started} ms of the kill`);
      await sleep(1500);
      const later = Date.now();
      await assert.rejects(store.get(key), unavailable);
      t.diagnostic(`a call during the outage rejected in ${Date.now() - later} ms`);

      await server.restart();
      const recoveredAt = Date.now();
      assert.deepEqual(await getOnceRecovered(store, key, 10_000), hot(record));
      t.diagnostic(`recovered ${Date.now() - recoveredAt} ms after the restart`);
      assert.equal(await store.putOnce('jti:before-outage', 10 * minute), false, 'the marker written before the outage survived');
      // The restarted server has an empty script cache: touch (a Lua script) must still work.
      const now = Date.now();
      await store.touch(key, now, now + 5 * minute, 5 * minute);
      assert.equal((await store.get(key))?.lastSeenAt, now);
      assert.equal(await store.getTokens(key), record.sealedTokens, 'the tokens survived too (a Lua script as well)');
      assert.deepEqual((await store.listByUser(record.sub)).map((e) => e.key), [key]);
      assert.equal(await store.deleteByUser(record.sub), 1);
    } finally {
      await store.close();
      await server.dispose();
    }
  });

  it('rejects instead of hanging when Redis stops answering, and recovers when it answers again', { timeout: 60_000 }, async (t) => {
    const server = await startRedisServer();
    const store = redisStore({ url: server.url });
    try {
      const key = randomKey();
      const record = sampleRecord();
      await store.set(key, record, 10 * minute);
      server.signal('SIGSTOP'); // connection open, no answers: only timeouts can end the calls
      const started = Date.now();
      await assert.rejects(store.get(key), unavailable);
      t.diagnostic(`a call to a frozen Redis rejected after ${Date.now() - started} ms`);
      server.signal('SIGCONT');
      assert.deepEqual(await getOnceRecovered(store, key, 10_000), hot(record));
    } finally {
      server.signal('SIGCONT');
      await store.close();
      await server.dispose();
    }
  });

  it('a store that started listening for invalidations while Redis was down hears them once Redis comes up', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const listening = redisStore({ url: `redis://127.0.0.1:${port}` });
    const heard: Array<string | undefined> = [];
    listening.onInvalidate?.((key) => heard.push(key));
    await sleep(500); // the first SUBSCRIBE fails: nothing listens yet
    const server = await startRedisServer({ port });
    const deleting = redisStore({ url: server.url });
    try {
      // Each round deletes a fresh session on the other store until the listener has heard one.
      const deadline = Date.now() + 10_000;
      for (;;) {
        const key = randomKey();
        await deleting.set(key, sampleRecord(), minute);
        await deleting.delete(key);
        await sleep(200);
        if (heard.includes(key)) break;
        if (Date.now() > deadline) throw new Error(`no invalidation heard within 10 s (heard ${JSON.stringify(heard)})`);
      }
    } finally {
      await deleting.close();
      await listening.close();
      await server.dispose();
    }
  });

  it('a store opened while Redis is down rejects quickly and works once Redis comes up', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const store = redisStore({ url: `redis://127.0.0.1:${port}` });
    try {
      await assert.rejects(store.get(randomKey()), unavailable);
      await assert.rejects(store.ping(), unavailable);
      const server = await startRedisServer({ port });
      try {
        const key = randomKey();
        assert.equal(await getOnceRecovered(store, key, 10_000), undefined);
        await store.set(key, sampleRecord(), minute);
        assert.ok(await store.get(key));
      } finally {
        await server.dispose();
      }
    } finally {
      await store.close();
    }
  });
});
