import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createServer } from 'node:http';
import { createMetricsHandler } from '../../src/gateway/server.js';
import { closeServer, listen, startStack, type Stack } from '../helpers/stack.js';
import { internalsOf } from '../../src/tessera.js';

describe('login through the gateway', () => {
  let stack: Stack;
  before(async () => { stack = await startStack(); });
  after(async () => { await stack.close(); });

  test('a page request without a session is redirected to login with its path as returnTo', async () => {
    const page = await stack.browser().request(`${stack.url}/reports?q=1`);
    assert.equal(page.status, 302);
    assert.equal(page.headers.get('location'), '/auth/login?returnTo=%2Freports%3Fq%3D1&silent=1', 'silent SSO first (TESSERA_SILENT_SSO)');
    assert.equal(page.headers.get('cache-control'), 'no-store');
  });

  test('an API request without a session gets 401 JSON with the login URL, never a redirect to the IdP', async () => {
    for (const headers of [{ accept: 'application/json' }, { 'sec-fetch-mode': 'cors' }, { 'x-requested-with': 'XMLHttpRequest' }] as Record<string, string>[]) {
      const response = await fetch(`${stack.url}/api/data`, { headers, redirect: 'manual' });
      assert.equal(response.status, 401);
      assert.deepEqual(await response.json(), { error: 'login_required', login_url: '/auth/login?returnTo=%2Fapi%2Fdata' });
    }
  });

  test('alice signs in and lands on the page she asked for, with identity headers upstream', async () => {
    const browser = stack.browser();
    const page = await stack.login(browser, { returnTo: '/reports?q=1' });
    assert.equal(page.status, 200);
    assert.equal(page.url, `${stack.url}/reports?q=1`);
    const seen = JSON.parse(page.text) as { headers: Record<string, string> };
    assert.equal(seen.headers['x-tessera-sub'], 'alice');
    assert.equal(seen.headers['x-tessera-roles'], 'admin,user');
    assert.ok(seen.headers['x-tessera-tid']);
    assert.match(seen.headers['x-tessera-session']!, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(seen.headers.authorization, undefined, 'no token relay by default');
  });

  test('the session cookie is 43 base64url characters, HttpOnly, SameSite=Lax, Path=/, not persistent, set with no-store', async () => {
    const browser = stack.browser();
    const login = await browser.navigate(`${stack.url}/auth/login`);
    const callbackUrl = await browser.signIn(login.url, { username: 'alice', password: 'alice', stopAt: (u) => u.pathname === '/auth/callback' });
    const response = await browser.request(callbackUrl.url);
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith('tessera='));
    assert.ok(cookie, 'session cookie set');
    assert.match(cookie, /^tessera=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
    assert.ok(response.headers.getSetCookie().some((c) => /^tessera-txn-[^=]+=; .*Max-Age=0/.test(c)), 'transaction cookie cleared');
  });

  test('GET /auth/session describes the session; without one it is 401', async () => {
    const browser = stack.browser();
    await stack.login(browser);
    const page = await browser.request(`${stack.url}/auth/session`, { headers: { accept: 'application/json' } });
    assert.equal(page.status, 200);
    const body = JSON.parse(page.text);
    assert.equal(body.authenticated, true);
    assert.equal(body.sub, 'alice');
    assert.deepEqual(body.roles, ['admin', 'user']);
    assert.deepEqual(body.amr, ['pwd']);
    for (const t of [body.accessTokenExpiresAt, body.session.createdAt, body.session.idleExpiresAt, body.session.absoluteExpiresAt]) {
      assert.match(t, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    assert.ok(Date.parse(body.accessTokenExpiresAt) > Date.now() + 3000_000);
    const anonymous = await fetch(`${stack.url}/auth/session`);
    assert.equal(anonymous.status, 401);
    assert.deepEqual(await anonymous.json(), { authenticated: false });
  });

  test('the store keeps only a hash of the session id, and the tokens sealed', async () => {
    const browser = stack.browser();
    await stack.login(browser);
    const id = stack.sessionCookie(browser)!;
    const sessions = await internalsOf(stack.tessera).store.listByUser('alice');
    assert.ok(sessions.length > 0);
    for (const { key, record } of sessions) {
      assert.notEqual(key, id);
      assert.ok(!JSON.stringify(record).includes(id));
      assert.ok(!JSON.stringify(record).includes('eyJ'), 'no token in the record the per-request read returns');
      const sealed = await internalsOf(stack.tessera).store.getTokens(key);
      assert.ok(sealed !== undefined && sealed.length > 0, 'the tokens are kept apart');
      assert.ok(!sealed.includes('eyJ'), 'no JWT in clear');
    }
  });

  test('two tabs logging in at once both complete', async () => {
    const browser = stack.browser();
    const stop = (u: URL) => u.pathname === '/auth/callback';
    const [a, b] = await Promise.all([
      browser.signIn(`${stack.url}/auth/login?returnTo=/a`, { username: 'alice', password: 'alice', stopAt: stop }),
      browser.signIn(`${stack.url}/auth/login?returnTo=/b`, { username: 'alice', password: 'alice', stopAt: stop }),
    ]);
    const first = await browser.navigate(a.url);
    const second = await browser.navigate(b.url);
    assert.equal(first.url, `${stack.url}/a`);
    assert.equal(second.url, `${stack.url}/b`);
    assert.equal(second.status, 200);
  });

  test('stale transaction cookies do not pile up', async () => {
    const browser = stack.browser();
    for (let i = 0; i < 8; i++) await browser.request(`${stack.url}/auth/login?returnTo=/${i}`);
    const pending = browser.jar.names('localhost').filter((n) => n.startsWith('tessera-txn-'));
    assert.ok(pending.length <= 3, `${pending.length} transaction cookies kept`);
  });

  test('the upstream never sees client-sent X-Tessera-* headers or Tessera cookies, and keeps its own cookies', async () => {
    const browser = stack.browser();
    await stack.login(browser);
    const response = await fetch(`${stack.url}/echo`, {
      headers: { 'x-tessera-sub': 'mallory', 'X-Tessera-Roles': 'admin', 'x-tessera-extra': '1', cookie: `${browser.jar.header(stack.url)}; theme=dark` },
    });
    const seen = (await response.json()) as { headers: Record<string, string> };
    assert.equal(seen.headers['x-tessera-sub'], 'alice');
    assert.equal(seen.headers['x-tessera-roles'], 'admin,user');
    assert.equal(seen.headers['x-tessera-extra'], undefined);
    assert.match(seen.headers.cookie ?? '', /theme=dark/);
    assert.doesNotMatch(seen.headers.cookie ?? '', /(^|; )tessera(-txn-[^=]*)?=/);
  });

  test('health and readiness answer without a session; Prometheus metrics only on the metrics listener', async () => {
    await stack.login(stack.browser());
    const health = await fetch(`${stack.url}/healthz`);
    assert.equal(health.status, 200);
    const ready = await fetch(`${stack.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true, store: true, idp: true });
    assert.equal((await fetch(`${stack.url}/metrics`)).status, 404);
    const handler = createMetricsHandler(stack.tessera);
    const server = createServer((req, res) => void handler(req, res));
    const metricsUrl = await listen(server, 0);
    const metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
    await closeServer(server);
    assert.match(metrics, /^# TYPE tessera_sessions_created_total counter$/m);
    assert.match(metrics, /^tessera_sessions_created_total [1-9]\d*$/m);
    assert.match(metrics, /^tessera_logins_started_total\{kind="interactive"\} [1-9]\d*$/m);
  });

  test('request bodies and methods are proxied unchanged', async () => {
    const browser = stack.browser();
    await stack.login(browser);
    const page = await browser.request(`${stack.url}/submit?x=1`, { method: 'PUT', form: { a: '1', b: 'two' } });
    const seen = JSON.parse(page.text) as { method: string; url: string; body: string };
    assert.equal(seen.method, 'PUT');
    assert.equal(seen.url, '/submit?x=1');
    assert.equal(seen.body, 'a=1&b=two');
  });
});

describe('token relay', () => {
  let stack: Stack;
  before(async () => { stack = await startStack({ options: { tokenRelay: true } }); });
  after(async () => { await stack.close(); });

  test('with token relay on, the upstream gets the access token as a Bearer header', async () => {
    const browser = stack.browser();
    const page = await stack.login(browser);
    const seen = JSON.parse(page.text) as { headers: Record<string, string> };
    assert.match(seen.headers.authorization ?? '', /^Bearer eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
  });
});
