import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { generateKeyEntry } from '../../src/keys/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import type { SessionStore } from '../../src/stores/types.js';
import { createTessera, internalsOf, type Tessera } from '../../src/tessera.js';
import { testLogLevel } from '../helpers/stack.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The memory store, counting the reads of records and of tokens. */
function counted(store: SessionStore) {
  const counts = { get: 0, getTokens: 0 };
  const wrapped: SessionStore = {
    ...store,
    async get(key) {
      counts.get++;
      return store.get(key);
    },
    async getTokens(key) {
      counts.getTokens++;
      return store.getTokens(key);
    },
  };
  return { store: wrapped, counts, inner: store };
}

function instance(store: SessionStore, sessionCacheTtl: string | number): Tessera {
  return createTessera({
    publicUrl: 'http://127.0.0.1:3000',
    issuer: 'http://127.0.0.1:9/never-contacted',
    clientId: 'tokens-test',
    clientSecret: 'tokens-test-secret',
    keys: generateKeyEntry(),
    store: 'memory:',
    sessionCacheTtl,
    logLevel: testLogLevel(),
  }, { store });
}

const tokens = { access_token: 'access-token-value', id_token: 'id-token-value' };

async function signIn(tessera: Tessera): Promise<{ cookie: string; storeKey: string }> {
  const { setCookie, storeKey } = await internalsOf(tessera).sessions.create(
    tokens,
    { sub: 'alice', roles: ['user'], tid: undefined, scope: 'openid', amr: ['pwd'], acr: undefined, accessTokenExpiresAt: Math.floor(Date.now() / 1000) + 3600 },
  );
  return { cookie: setCookie.split(';')[0]!, storeKey };
}

describe('session tokens are read apart from the record', () => {
  const cached = counted(memoryStore());
  const uncached = counted(memoryStore());
  let withCache: Tessera;
  let withoutCache: Tessera;
  before(() => {
    withCache = instance(cached.store, '10m');
    // A 1 ms cache (the smallest there is), and a pause between calls: every call misses it.
    withoutCache = instance(uncached.store, 0.001);
  });
  after(async () => {
    await Promise.all([withCache.close(), withoutCache.close()]);
  });

  it('the per-request check never reads the tokens; the record it reads has none', async () => {
    const { cookie, storeKey } = await signIn(withoutCache);
    for (let i = 0; i < 5; i++) {
      await sleep(5);
      assert.equal((await withoutCache.authenticate(cookie)).authenticated, true);
    }
    assert.equal(uncached.counts.get, 5, 'one record read per request without a cache');
    assert.equal(uncached.counts.getTokens, 0);
    const record = await uncached.inner.get(storeKey);
    assert.ok(record);
    assert.equal('sealedTokens' in record, false);
    assert.ok(!JSON.stringify(record).includes('access-token-value'));
  });

  it('tessera.tokens(session) opens the tokens read by getTokens, once per cached session', async () => {
    const { cookie } = await signIn(withCache);
    const result = await withCache.authenticate(cookie);
    assert.ok(result.authenticated);
    for (let i = 0; i < 5; i++) assert.deepEqual(await withCache.tokens(result.session), tokens);
    assert.equal(cached.counts.getTokens, 1, 'relay on every request reads them from the store once');
  });

  it('after a logout the tokens are gone, from the store and from the cache', async () => {
    const { cookie, storeKey } = await signIn(withCache);
    const result = await withCache.authenticate(cookie);
    assert.ok(result.authenticated);
    assert.deepEqual(await withCache.tokens(result.session), tokens);
    await internalsOf(withCache).sessions.revoke(storeKey);
    assert.equal(await withCache.tokens(result.session), undefined);
    assert.equal(await cached.inner.getTokens(storeKey), undefined);
  });

  it('without a cache every tokens() call reads getTokens, never the record', async () => {
    const { cookie } = await signIn(withoutCache);
    const result = await withoutCache.authenticate(cookie);
    assert.ok(result.authenticated);
    const [gets, reads] = [uncached.counts.get, uncached.counts.getTokens];
    for (let i = 0; i < 2; i++) {
      await sleep(5);
      assert.deepEqual(await withoutCache.tokens(result.session), tokens);
    }
    assert.equal(uncached.counts.getTokens - reads, 2);
    assert.equal(uncached.counts.get - gets, 0);
  });
});
