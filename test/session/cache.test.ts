import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { generateKeyEntry } from '../../src/keys/index.js';
import { SessionCache } from '../../src/session/cache.js';
import type { AuthResult } from '../../src/session/manager.js';
import { redisStore } from '../../src/stores/redis/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import type { SessionRecord, SessionStore } from '../../src/stores/types.js';
import { createTessera, type Tessera, internalsOf } from '../../src/tessera.js';
import { skipOrFail, sleep, useRedis } from '../helpers/redis-server.js';
import { testLogLevel } from '../helpers/stack.js';

const redis = await useRedis();
const skip = 'skip' in redis ? skipOrFail(redis.skip).skip : false;
const url = 'url' in redis ? redis.url : '';
const prefix = `tessera-test-cache-${randomBytes(6).toString('hex')}:`;
const keys = generateKeyEntry();

/**
 * Issue 6 asks that a logout on one instance is honoured on every other within 100 ms; measured
 * here it takes a few milliseconds (printed below). The assertion allows a loaded CI machine more
 * room while still telling an invalidation apart from the ten-minute cache expiry.
 */
const invalidationBoundMs = 1000;

/** A Tessera instance on the shared Redis; its cache would keep a session for ten minutes. */
function instance(store: SessionStore): Tessera {
  return createTessera({
    publicUrl: 'http://127.0.0.1:3000',
    issuer: 'http://127.0.0.1:9/never-contacted',
    clientId: 'cache-test',
    clientSecret: 'cache-test-secret',
    keys,
    store: 'memory:',
    sessionCacheTtl: '10m',
    logLevel: testLogLevel(),
  }, { store });
}

async function signIn(tessera: Tessera, sub = 'alice'): Promise<{ cookie: string; storeKey: string }> {
  const { setCookie, storeKey } = await internalsOf(tessera).sessions.create(
    { access_token: 'access-token', id_token: 'id-token' },
    { sub, roles: ['user'], tid: 'tenant', scope: 'openid', amr: ['pwd'], acr: undefined, accessTokenExpiresAt: Math.floor(Date.now() / 1000) + 3600 },
  );
  return { cookie: setCookie.split(';')[0]!, storeKey };
}

/** Asks `tessera` every few milliseconds until the session is refused; returns how long that took. */
async function msUntilRefused(tessera: Tessera, cookie: string, limitMs = 2000): Promise<{ ms: number; result: AuthResult }> {
  const start = performance.now();
  for (;;) {
    const result = await tessera.authenticate(cookie);
    const ms = performance.now() - start;
    if (!result.authenticated || ms > limitMs) return { ms, result };
    await sleep(2);
  }
}

/** A store whose reads can be held back, to line a read up with an invalidation. */
function withHeldReads(store: SessionStore) {
  let release: () => void = () => undefined;
  let held: Promise<void> = Promise.resolve();
  let reads = 0;
  const wrapped: SessionStore = {
    ...store,
    async get(key) {
      reads++;
      const record = await store.get(key);
      await held;
      return record;
    },
  };
  return {
    store: wrapped,
    get reads() { return reads; },
    hold() { held = new Promise((resolve) => (release = resolve)); },
    release: () => release(),
  };
}

describe('the in-process session cache across instances (Redis)', { skip }, () => {
  let a: Tessera;
  let b: Tessera;
  let bStore: ReturnType<typeof withHeldReads>;
  let bInvalidations: Array<string | undefined>;

  before(() => {
    a = instance(redisStore({ url }, { prefix }));
    const store = redisStore({ url }, { prefix });
    bInvalidations = [];
    store.onInvalidate?.((key) => bInvalidations.push(key));
    bStore = withHeldReads(store);
    b = instance(bStore.store);
  });

  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    const admin = new Redis(url);
    let cursor = '0';
    do {
      const [next, batch] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (batch.length > 0) await admin.del(...batch);
    } while (cursor !== '0');
    await admin.quit();
    if ('dispose' in redis) await redis.dispose();
  });

  it('a live session is answered from the cache, without a store read per request', async () => {
    const { cookie } = await signIn(a);
    const readsBefore = bStore.reads;
    for (let i = 0; i < 5; i++) assert.equal((await b.authenticate(cookie)).authenticated, true);
    assert.equal(bStore.reads - readsBefore, 1);
  });

  it('a logout on one instance is refused on another at once, though its cache would keep the session for minutes', async () => {
    const { cookie, storeKey } = await signIn(a);
    assert.equal((await b.authenticate(cookie)).authenticated, true, 'b has the session cached');
    assert.equal(await internalsOf(a).sessions.revoke(storeKey), true);
    const { ms, result } = await msUntilRefused(b, cookie);
    assert.equal(result.authenticated, false);
    assert.equal(result.authenticated === false && result.reason, 'unknown_session');
    console.log(`# cross-instance invalidation: refused ${ms.toFixed(1)} ms after the logout`);
    assert.ok(ms <= invalidationBoundMs, `refused after ${ms.toFixed(1)} ms`);
  });

  it('revoking every session of a user on one instance is honoured by the other', async () => {
    const first = await signIn(a, 'carol');
    const second = await signIn(a, 'carol');
    for (const { cookie } of [first, second]) assert.equal((await b.authenticate(cookie)).authenticated, true);
    assert.equal(await internalsOf(a).sessions.revokeByUser('carol'), 2);
    for (const { cookie } of [first, second]) {
      const { ms, result } = await msUntilRefused(b, cookie);
      assert.equal(result.authenticated, false);
      assert.ok(ms <= invalidationBoundMs, `refused after ${ms.toFixed(1)} ms`);
    }
  });

  it('a store read in flight while the session is revoked elsewhere is not cached', async () => {
    const { cookie, storeKey } = await signIn(a);
    bStore.hold();
    const pending = b.authenticate(cookie); // reads the live record, then waits
    await sleep(20);
    const seen = bInvalidations.length;
    await internalsOf(a).sessions.revoke(storeKey);
    while (bInvalidations.length === seen) await sleep(2); // the invalidation reached b first …
    bStore.release(); // … and only then does the older read come back
    assert.equal((await pending).authenticated, true, 'the request that raced the logout may pass');
    const next = await b.authenticate(cookie);
    assert.equal(next.authenticated, false, 'but the record it read was not cached');
  });
});

describe('the in-process session cache', () => {
  const record = (sub: string): SessionRecord => {
    const now = Date.now();
    return { sub, roles: [], accessTokenExpiresAt: Math.floor(now / 1000) + 3600, createdAt: now, lastSeenAt: now, idleExpiresAt: now + 60_000, absoluteExpiresAt: now + 60_000 };
  };

  it('holds at most its bound, dropping the oldest entry first', () => {
    const cache = new SessionCache(60_000, 3);
    for (const key of ['k1', 'k2', 'k3', 'k4']) cache.set(key, record(key), `ref-${key}`, 0);
    assert.equal(cache.size, 3);
    assert.equal(cache.get('k1', 1), undefined);
    assert.equal(cache.get('k4', 1)?.record.sub, 'k4');
  });

  it('forgets an entry once its time to live has passed', () => {
    const cache = new SessionCache(5000);
    cache.set('k', record('k'), 'ref', 1000);
    assert.equal(cache.get('k', 5999)?.ref, 'ref');
    assert.equal(cache.get('k', 6000), undefined);
  });

  it('caches nothing when its time to live is zero', () => {
    const cache = new SessionCache(0);
    cache.set('k', record('k'), 'ref', 0);
    assert.equal(cache.get('k', 0), undefined);
  });

  it('concurrent requests for one uncached session share a single store read', async () => {
    const reads = withHeldReads(memoryStore());
    const tessera = instance(reads.store);
    try {
      const { cookie } = await signIn(tessera);
      const before = reads.reads;
      reads.hold();
      const results = Array.from({ length: 20 }, () => tessera.authenticate(cookie));
      reads.release();
      for (const result of await Promise.all(results)) assert.equal(result.authenticated, true);
      assert.equal(reads.reads - before, 1);
    } finally {
      await tessera.close();
    }
  });

  it('a session handed to one request cannot be changed through another', async () => {
    const tessera = instance(memoryStore());
    try {
      const { cookie } = await signIn(tessera);
      const first = await tessera.authenticate(cookie);
      assert.ok(first.authenticated);
      first.session.roles.push('admin');
      const second = await tessera.authenticate(cookie);
      assert.ok(second.authenticated);
      assert.deepEqual(second.session.roles, ['user']);
    } finally {
      await tessera.close();
    }
  });
});
