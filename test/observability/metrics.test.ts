/**
 * Each instance's metrics live in a prom-client registry of its own: the per-request session
 * check by outcome and its latency, the session cache, the store's operations and the calls to
 * the identity provider, next to the login, callback and logout counters.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Counter, Registry, register } from 'prom-client';
import { TesseraError } from '../../src/errors.js';
import { generateKeyEntry } from '../../src/keys/index.js';
import { silentLogger } from '../../src/observability/log.js';
import { memoryStore } from '../../src/stores/index.js';
import type { SessionStore } from '../../src/stores/types.js';
import { createTessera, internalsOf, type Tessera } from '../../src/tessera.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { signIn } from '../security/support.js';

const options = {
  publicUrl: 'http://localhost:3000', issuer: 'http://127.0.0.1:9/never-contacted', clientId: 'c', clientSecret: 's',
  keys: generateKeyEntry(), store: 'memory:', sessionCacheTtl: '10m',
};

function instance(store: SessionStore = memoryStore()): Tessera {
  return createTessera(options, { store, logger: silentLogger });
}

async function sessionCookie(tessera: Tessera): Promise<string> {
  const { setCookie } = await internalsOf(tessera).sessions.create({ access_token: 'a' }, { sub: 'alice', roles: [], accessTokenExpiresAt: Math.floor(Date.now() / 1000) + 600 });
  return setCookie.split(';')[0]!;
}

/** The value of one sample line of the exposition (`name{labels} value`); undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics of one instance', () => {
  test('the session check counts each outcome, anonymous ones by reason, and times each', async () => {
    const tessera = instance();
    try {
      const cookie = await sessionCookie(tessera);
      await tessera.authenticate(cookie);
      await tessera.authenticate(cookie);
      await tessera.authenticate(undefined);
      await tessera.authenticate('tessera=not-a-session-id');
      await tessera.authenticate(`tessera=${'A'.repeat(43)}`);
      const text = await tessera.metrics.render();
      assert.match(text, /^# TYPE tessera_authentications_total counter$/m);
      assert.equal(sample(text, 'tessera_authentications_total{outcome="authenticated",reason=""}'), 2);
      assert.equal(sample(text, 'tessera_authentications_total{outcome="anonymous",reason="no_cookie"}'), 1);
      assert.equal(sample(text, 'tessera_authentications_total{outcome="anonymous",reason="malformed_cookie"}'), 1);
      assert.equal(sample(text, 'tessera_authentications_total{outcome="anonymous",reason="unknown_session"}'), 1);
      assert.equal(sample(text, 'tessera_authentications_total{outcome="unavailable",reason=""}'), 0);
      assert.match(text, /^# TYPE tessera_authentication_duration_seconds histogram$/m);
      assert.equal(sample(text, 'tessera_authentication_duration_seconds_count{outcome="authenticated"}'), 2);
      assert.equal(sample(text, 'tessera_authentication_duration_seconds_bucket{outcome="anonymous",le="+Inf"}'), 3);
      const sum = sample(text, 'tessera_authentication_duration_seconds_sum{outcome="authenticated"}')!;
      assert.ok(sum > 0 && sum < 1, `a sum in seconds (${sum})`);
      const buckets = text.split('\n').filter((l) => l.startsWith('tessera_authentication_duration_seconds_bucket{outcome="authenticated"'));
      const counts = buckets.map((l) => Number(l.split(' ')[1]));
      assert.deepEqual(counts, [...counts].sort((a, b) => a - b), 'buckets are cumulative');
      assert.equal(counts.at(-1), 2);
      // The first check of the session read the store, the second found it in the cache; the
      // unknown id missed the cache and read the store too.
      assert.equal(sample(text, 'tessera_session_cache_lookups_total{result="hit"}'), 1);
      assert.equal(sample(text, 'tessera_session_cache_lookups_total{result="miss"}'), 2);
      assert.equal(sample(text, 'tessera_store_operation_duration_seconds_count{operation="get",outcome="ok"}'), 2);
      assert.equal(sample(text, 'tessera_store_operation_duration_seconds_count{operation="set",outcome="ok"}'), 1);
    } finally {
      await tessera.close();
    }
  });

  test('a store outage counts as unavailable, and the failed store operation as an error', async () => {
    const store = memoryStore();
    const tessera = instance({
      ...store,
      get: () => Promise.reject(new TesseraError('ERR_STORE_UNAVAILABLE', 'session store (memory) unavailable during get: down')),
    });
    try {
      const cookie = await sessionCookie(tessera);
      await assert.rejects(tessera.authenticate(cookie), { code: 'ERR_STORE_UNAVAILABLE' });
      const text = await tessera.metrics.render();
      assert.equal(sample(text, 'tessera_authentications_total{outcome="unavailable",reason=""}'), 1);
      assert.equal(sample(text, 'tessera_authentication_duration_seconds_count{outcome="unavailable"}'), 1);
      assert.equal(sample(text, 'tessera_store_operation_duration_seconds_count{operation="get",outcome="error"}'), 1);
    } finally {
      await tessera.close();
    }
  });

  test('each instance has a registry of its own, and none of it goes to the global registry', async () => {
    const [a, b] = [instance(), instance()];
    try {
      await a.authenticate(undefined);
      await a.authenticate(undefined);
      await b.authenticate(undefined);
      assert.equal(sample(await a.metrics.render(), 'tessera_authentications_total{outcome="anonymous",reason="no_cookie"}'), 2);
      assert.equal(sample(await b.metrics.render(), 'tessera_authentications_total{outcome="anonymous",reason="no_cookie"}'), 1);
      assert.ok(a.metrics.registry instanceof Registry);
      assert.notEqual(a.metrics.registry, register);
      assert.doesNotMatch(await register.metrics(), /tessera_/);
      assert.match(a.metrics.contentType, /^text\/plain; version=0\.0\.4/);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test("a host merges the instance's registry with its own and scrapes both at once", async () => {
    const tessera = instance();
    try {
      const host = new Registry();
      new Counter({ name: 'host_requests_total', help: 'Requests of the host application', registers: [host] }).inc(3);
      await tessera.authenticate(undefined);
      const merged = Registry.merge([host, tessera.metrics.registry]);
      const text = await merged.metrics();
      assert.equal(sample(text, 'host_requests_total'), 3);
      assert.equal(sample(text, 'tessera_authentications_total{outcome="anonymous",reason="no_cookie"}'), 1);
      await tessera.authenticate(undefined);
      assert.equal(sample(await merged.metrics(), 'tessera_authentications_total{outcome="anonymous",reason="no_cookie"}'), 2, 'the merged registry reads the live values');
      const json = await merged.getMetricsAsJSON();
      const histogram = json.find((m) => m.name === 'tessera_authentication_duration_seconds');
      assert.equal(String(histogram?.type), 'histogram');
      assert.ok(histogram?.values.some((v) => v.labels.le === '+Inf' && v.value === 2));
    } finally {
      await tessera.close();
    }
  });
});

describe('metrics of a sign-in through the gateway', () => {
  let stack: Stack;
  before(async () => { stack = await startStack(); });
  after(async () => { await stack.close(); });

  test('IdP calls are timed by operation (discovery, token exchange, JWKS, logout API), next to the login counters', async () => {
    const browser = stack.browser();
    await signIn(stack, browser);
    await browser.request(`${stack.url}/auth/logout`, { method: 'POST', headers: { origin: stack.url } });
    await browser.request(`${stack.url}/auth/callback?code=forged&state=${'s'.repeat(43)}`);
    const text = await stack.tessera.metrics.render();
    for (const operation of ['discovery', 'token', 'jwks', 'logout']) {
      assert.equal(sample(text, `tessera_idp_request_duration_seconds_count{operation="${operation}",outcome="ok"}`), 1, operation);
    }
    assert.equal(sample(text, 'tessera_logins_started_total{kind="interactive"}'), 1);
    assert.equal(sample(text, 'tessera_sessions_created_total'), 1);
    assert.equal(sample(text, 'tessera_logouts_total'), 1);
    assert.equal(sample(text, 'tessera_callback_errors_total{reason="transaction_not_found"}'), 1);
    assert.equal(sample(text, 'tessera_store_operation_duration_seconds_count{operation="putOnce",outcome="ok"}'), 1);
    assert.equal(sample(text, 'tessera_store_operation_duration_seconds_count{operation="getTokens",outcome="ok"}'), 1, 'the logout read the tokens, apart from the record');
  });
});
