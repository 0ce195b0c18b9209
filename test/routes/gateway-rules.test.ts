/**
 * Route rules through the gateway (issue 11), against the dev IdP: public, optional and required
 * routes, roles, step-up (acr and maxAge, RFC 9470) for pages and APIs, a failed step-up, per-route
 * upstreams, `methods` and `exact`, the canonical path the upstream receives, and rules that fail
 * at start.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { loadConfig } from '../../src/config/index.js';
import { TesseraError } from '../../src/errors.js';
import { createTessera } from '../../src/tessera.js';
import type { Browser } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { shiftClock } from '../helpers/clock.js';
import { serveEnv } from '../helpers/config.js';
import { rawRequest, header } from '../helpers/raw-http.js';
import { startEchoUpstream, startStack, type Stack, type UpstreamRequest } from '../helpers/stack.js';
import { minimalOptions, rawExchange, rawStatus, sessionStatus, signIn } from '../security/support.js';

type Echo = Awaited<ReturnType<typeof startEchoUpstream>>;

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; text: string }

const all = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** A page navigation (`api: false`) or an API call (`api: true`) to the gateway, redirects not followed. */
async function call(stack: Stack, path: string, init: { cookie?: string; api?: boolean; method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = init.api
    ? { accept: 'application/json' }
    : { accept: 'text/html,application/xhtml+xml', 'sec-fetch-mode': 'navigate' };
  if (init.cookie !== undefined) headers.cookie = init.cookie;
  Object.assign(headers, init.headers);
  const response = await request(`${stack.url}${path}`, { method: (init.method ?? 'GET') as 'GET', headers, body: init.body });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

/** The `X-Tessera-*` headers an upstream request carried. */
function identityOf(seen: UpstreamRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(seen.headers)) if (name.startsWith('x-tessera-')) out[name] = String(value);
  return out;
}

/** Runs `action` and returns the upstream requests it caused. */
async function reached<T>(upstream: { requests: UpstreamRequest[] }, action: () => Promise<T>): Promise<{ result: T; requests: UpstreamRequest[] }> {
  const before = upstream.requests.length;
  const result = await action();
  return { result, requests: upstream.requests.slice(before) };
}

const rulesFor = (other: string) => [
  { path: '/public', auth: 'none' },
  { path: '/maybe', auth: 'optional' },
  { path: '/admin', roles: ['admin'] },
  { path: '/docs/internal', roles: ['admin'] },
  { path: '/docs', auth: 'none' },
  { path: '/pay', acr: 'mfa', maxAge: '10m' },
  { path: '/recent', maxAge: '3s' },
  { path: '/fresh', maxAge: '2m' },
  { path: '/svc/open', auth: 'none', upstream: other },
  { path: '/svc', upstream: `${other}/` },
  { path: '/exact', exact: true, auth: 'none' },
  { path: '/hook', methods: ['POST'], auth: 'none' },
];

describe('route rules through the gateway', () => {
  let stack: Stack;
  let other: Echo;
  let cookieName: string;
  /** Session cookies (`name=value`) of one sign-in each, not touched by the step-up tests. */
  let alice: string;
  let bob: string;

  before(async () => {
    other = await startEchoUpstream();
    stack = await startStack({ options: { routes: rulesFor(other.url) } });
    cookieName = stack.tessera.cookieName;
    alice = `${cookieName}=${await signIn(stack, stack.browser(), { username: 'alice' })}`;
    bob = `${cookieName}=${await signIn(stack, stack.browser(), { username: 'bob' })}`;
  });
  after(async () => {
    await stack?.close();
    await other?.close();
  });

  /** A signed-in browser of its own (for flows that replace its session), and its session id. */
  async function freshSignIn(username: string): Promise<{ browser: Browser; id: string }> {
    const browser = stack.browser();
    return { browser, id: await signIn(stack, browser, { username }) };
  }

  async function sessionInfo(cookie: string): Promise<Record<string, unknown>> {
    const response = await fetch(`${stack.url}/auth/session`, { headers: { accept: 'application/json', cookie } });
    assert.equal(response.status, 200, 'the session is valid');
    return (await response.json()) as Record<string, unknown>;
  }

  describe('auth: "none"', () => {
    test('an anonymous request is proxied, without a login redirect, on segment boundaries only', async () => {
      for (const path of ['/public', '/public/', '/public/page?x=1']) {
        const { result, requests } = await reached(stack.upstream, () => call(stack, path));
        assert.equal(result.status, 200, path);
        assert.equal(requests.length, 1, path);
        assert.equal(requests[0]!.url, path);
        assert.deepEqual(identityOf(requests[0]!), {});
      }
      const { result, requests } = await reached(stack.upstream, () => call(stack, '/publicity'));
      assert.equal(result.status, 302, '/publicity is not below /public: the default rule (required) applies');
      assert.equal(requests.length, 0);
    });

    test('with a valid session: no identity headers, Tessera cookies stripped, client X-Tessera-* removed', async () => {
      const { result, requests } = await reached(stack.upstream, () => call(stack, '/public/page', {
        cookie: `${alice}; app=keep; tessera-txn-x=y`,
        headers: { 'x-tessera-sub': 'mallory', 'x-tessera-roles': 'admin', 'X_Tessera_Acr': 'mfa' },
      }));
      assert.equal(result.status, 200);
      assert.equal(requests.length, 1);
      const seen = requests[0]!;
      assert.deepEqual(identityOf(seen), {}, 'no identity header reaches the upstream on a public route');
      assert.ok(!Object.keys(seen.headers).some((n) => n.replace(/_/g, '-').startsWith('x-tessera-')), 'no client identity header in any spelling');
      assert.equal(seen.headers.cookie, 'app=keep', 'only the application cookie crosses');
      assert.ok(!all(result.headers['set-cookie']).some((c) => c.startsWith(`${cookieName}=`)), 'the session cookie is left alone');
    });

    test('a dead session cookie is not even looked at: no clearing Set-Cookie, no redirect', async () => {
      const dead = `${cookieName}=${'A'.repeat(43)}`;
      const answer = await call(stack, '/public/x', { cookie: dead });
      assert.equal(answer.status, 200);
      assert.ok(!all(answer.headers['set-cookie']).some((c) => c.startsWith(`${cookieName}=`)));
    });

    test('first matching rule wins: /docs/internal needs admin although /docs is public', async () => {
      assert.equal((await call(stack, '/docs/guide')).status, 200);
      assert.equal((await call(stack, '/docs/internal/plan', { cookie: bob })).status, 403);
      assert.equal((await call(stack, '/docs/internal/plan', { cookie: alice })).status, 200);
    });
  });

  describe('auth: "optional"', () => {
    test('anonymous: proxied without identity headers and without a redirect (page and API)', async () => {
      for (const api of [false, true]) {
        const { result, requests } = await reached(stack.upstream, () => call(stack, '/maybe/home', { api }));
        assert.equal(result.status, 200);
        assert.equal(requests.length, 1);
        assert.deepEqual(identityOf(requests[0]!), {});
        assert.ok(!all(result.headers['set-cookie']).some((c) => c.startsWith(`${cookieName}=`)));
      }
    });

    test('signed in: the identity headers are set', async () => {
      const { result, requests } = await reached(stack.upstream, () => call(stack, '/maybe/home', { cookie: alice }));
      assert.equal(result.status, 200);
      const identity = identityOf(requests[0]!);
      assert.equal(identity['x-tessera-sub'], 'alice');
      assert.deepEqual(identity['x-tessera-roles']?.split(','), ['admin', 'user']);
      assert.ok(identity['x-tessera-session']);
    });

    test('a dead cookie (after logout): anonymous, the cookie cleared on the proxied response, no redirect', async () => {
      const { browser, id } = await freshSignIn('bob');
      const out = await browser.request(`${stack.url}/auth/logout`, { method: 'POST', headers: { origin: stack.url } });
      assert.equal(out.status, 303);
      const dead = `${cookieName}=${id}`;
      for (const api of [false, true]) {
        const { result, requests } = await reached(stack.upstream, () => call(stack, '/maybe/home', { cookie: dead, api }));
        assert.equal(result.status, 200, 'no redirect, no 401');
        assert.equal(requests.length, 1);
        assert.deepEqual(identityOf(requests[0]!), {});
        assert.ok(!String(requests[0]!.headers.cookie ?? '').includes(id), 'the dead cookie does not reach the upstream');
        const cleared = all(result.headers['set-cookie']).find((c) => c.startsWith(`${cookieName}=;`));
        assert.ok(cleared, `the dead cookie is cleared (got ${JSON.stringify(result.headers['set-cookie'])})`);
        assert.match(cleared, /Max-Age=0/i);
        assert.ok(all(result.headers['set-cookie']).some((c) => c.startsWith('app=1')), "the upstream's own Set-Cookie is kept");
      }
    });
  });

  describe('auth: "required" (the default for a path no rule matches)', () => {
    test('anonymous: pages are redirected to login, API requests get 401; the upstream sees nothing', async () => {
      const { result: page, requests } = await reached(stack.upstream, () => call(stack, '/reports?q=1'));
      assert.equal(page.status, 302);
      assert.equal(page.headers.location, '/auth/login?returnTo=%2Freports%3Fq%3D1&silent=1');
      const api = await call(stack, '/reports', { api: true });
      assert.equal(api.status, 401);
      assert.equal(JSON.parse(api.text).error, 'login_required');
      assert.equal(requests.length, 0);
    });

    test('signed in: proxied with the identity headers', async () => {
      const { result, requests } = await reached(stack.upstream, () => call(stack, '/reports', { cookie: bob }));
      assert.equal(result.status, 200);
      assert.equal(identityOf(requests[0]!)['x-tessera-sub'], 'bob');
    });
  });

  describe('roles', () => {
    test('a session without the role: 403 HTML page for a navigation, 403 JSON for an API request; nothing proxied', async () => {
      const { result: page, requests } = await reached(stack.upstream, () => call(stack, '/admin/users', { cookie: bob }));
      assert.equal(page.status, 403);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      assert.match(page.text, /<html/i);
      assert.equal(page.headers.location, undefined, 'no redirect: signing in again would not help');
      const api = await call(stack, '/admin/users', { cookie: bob, api: true });
      assert.equal(api.status, 403);
      assert.match(String(api.headers['content-type']), /^application\/json/);
      const body = JSON.parse(api.text) as Record<string, unknown>;
      assert.equal(body.error, 'forbidden');
      assert.equal(typeof body.error_description, 'string');
      assert.equal(requests.length, 0);
    });

    test('a session with the role is proxied; /administrator is not below /admin; anonymous is sent to login first', async () => {
      const { result, requests } = await reached(stack.upstream, () => call(stack, '/admin/users', { cookie: alice }));
      assert.equal(result.status, 200);
      assert.equal(requests[0]!.url, '/admin/users');
      assert.ok(identityOf(requests[0]!)['x-tessera-roles']?.split(',').includes('admin'));
      assert.equal((await call(stack, '/administrator', { cookie: bob })).status, 200);
      assert.equal((await call(stack, '/admin', { api: true })).status, 401);
      assert.equal((await call(stack, '/admin')).status, 302);
    });
  });

  describe('step-up (acr, maxAge)', () => {
    test('a page: 302 through /auth/login with acr=mfa; after the OTP a new session with a new id, the old one dead, acr mfa upstream', async () => {
      const { browser, id: oldId } = await freshSignIn('alice');
      const before = await sessionInfo(`${cookieName}=${oldId}`);
      assert.equal(before.acr, 'pwd');

      const first = await browser.request(`${stack.url}/pay/checkout?item=1`);
      assert.equal(first.status, 302);
      const location = new URL(first.headers.get('location') ?? '', stack.url);
      assert.equal(location.origin, stack.url);
      assert.equal(location.pathname, '/auth/login');
      assert.equal(location.searchParams.get('returnTo'), '/pay/checkout?item=1');
      assert.equal(location.searchParams.get('acr'), 'mfa');

      const { result: page, requests } = await reached(stack.upstream, () => browser.signIn(`${stack.url}/pay/checkout?item=1`, { username: 'alice', password: 'alice', otp: '123456' }));
      assert.equal(page.status, 200, `ended at ${page.url}`);
      assert.equal(new URL(page.url).pathname, '/pay/checkout');
      const newId = stack.sessionCookie(browser);
      assert.ok(newId !== undefined && newId !== oldId, 'a new session id');
      assert.equal(await sessionStatus(stack, `${cookieName}=${oldId}`), 401, 'the old cookie is dead');
      const seen = requests.at(-1)!;
      assert.equal(seen.url, '/pay/checkout?item=1');
      assert.equal(seen.headers['x-tessera-acr'], 'mfa');
      assert.ok(String(seen.headers['x-tessera-amr']).split(',').includes('mfa'));

      const after = await sessionInfo(`${cookieName}=${newId}`);
      assert.equal(after.acr, 'mfa');
      assert.ok((after.amr as string[]).includes('mfa'));
      assert.equal(typeof after.authTime, 'string', '/auth/session shows authTime');
      assert.ok(Math.abs(Date.parse(after.authTime as string) - Date.now()) < 60_000, 'authTime is the step-up, just now');
      assert.equal((await browser.request(`${stack.url}/pay`)).status, 200, 'no second step-up');
    });

    test('an API request: 401 insufficient_user_authentication with acr_values, max_age and login_url, and the WWW-Authenticate challenge', async () => {
      const { result: api, requests } = await reached(stack.upstream, () => call(stack, '/pay/charge', { cookie: alice, api: true }));
      assert.equal(api.status, 401);
      assert.match(String(api.headers['content-type']), /^application\/json/);
      assert.equal(api.headers['cache-control'], 'no-store');
      const body = JSON.parse(api.text) as Record<string, unknown>;
      assert.equal(body.error, 'insufficient_user_authentication');
      assert.equal(body.acr_values, 'mfa');
      const login = new URL(String(body.login_url), stack.url);
      assert.equal(login.origin, stack.url);
      assert.equal(login.pathname, '/auth/login');
      assert.equal(login.searchParams.get('returnTo'), '/pay/charge');
      assert.equal(login.searchParams.get('acr'), 'mfa');
      const challenge = String(api.headers['www-authenticate']);
      assert.match(challenge, /^Bearer /);
      assert.match(challenge, /error="insufficient_user_authentication"/);
      assert.match(challenge, /acr_values="mfa"/);
      assert.equal(requests.length, 0);
    });

    test('the API challenge for a rule with acr and maxAge names both (the contract example: "acr_values":"mfa","max_age":600)', async () => {
      const api = await call(stack, '/pay/charge', { cookie: alice, api: true });
      const body = JSON.parse(api.text) as Record<string, unknown>;
      assert.equal(body.acr_values, 'mfa');
      assert.equal(body.max_age, 600, `got ${api.text}`);
      assert.match(String(api.headers['www-authenticate']), /max_age="?600"?/);
    });

    test('maxAge: an older sign-in is sent back to the IdP with max_age, which asks for the password again; then a new session', async () => {
      const { browser, id: oldId } = await freshSignIn('alice');
      assert.equal((await browser.request(`${stack.url}/recent/x`)).status, 200, 'a fresh sign-in passes');
      const firstAuth = Date.parse(String((await sessionInfo(`${cookieName}=${oldId}`)).authTime));
      // Well past maxAge (3s) and any clock tolerance (30s): as if the user came back a minute later.
      const restore = shiftClock(60_000);
      try {
        const api = await call(stack, '/recent/x', { cookie: `${cookieName}=${oldId}`, api: true });
        assert.equal(api.status, 401);
        const body = JSON.parse(api.text) as Record<string, unknown>;
        assert.equal(body.error, 'insufficient_user_authentication');
        assert.equal(body.max_age, 3);
        assert.match(String(api.headers['www-authenticate']), /max_age="?3"?/);

        const page = await browser.request(`${stack.url}/recent/x`);
        assert.equal(page.status, 302);
        const location = new URL(page.headers.get('location') ?? '', stack.url);
        assert.equal(location.pathname, '/auth/login');
        assert.equal(location.searchParams.get('max_age'), '3');

        const visited: URL[] = [];
        const done = await browser.signIn(`${stack.url}/recent/x`, {
          username: 'alice', password: 'alice', stopAt: (url) => { visited.push(url); return false; },
        });
        assert.ok(visited.some((u) => /\/interaction\/[^/]+\/login$/.test(u.pathname)), 'the IdP asked for the password again (max_age forced a re-authentication)');
        assert.ok(visited.some((u) => u.searchParams.get('max_age') === '3'), 'max_age was sent to the IdP');
        assert.equal(done.status, 200, `ended at ${done.url}`);
        assert.equal(new URL(done.url).pathname, '/recent/x');
        const newId = stack.sessionCookie(browser);
        assert.ok(newId !== undefined && newId !== oldId, 'a new session id');
        assert.equal(await sessionStatus(stack, `${cookieName}=${oldId}`), 401, 'the old cookie is dead');
        const info = await sessionInfo(`${cookieName}=${newId}`);
        assert.ok(Date.parse(String(info.authTime)) >= firstAuth + 55_000, 'auth_time is the new sign-in');
        assert.equal((await browser.request(`${stack.url}/recent/x`)).status, 200, 'no second step-up');
      } finally {
        restore();
      }
    });

    // maxAge allows the 30 s clock tolerance the callback grants the ID token's auth_time, so a
    // sign-in the callback accepted is never sent straight back (docs/configuration.md).
    test('maxAge is the age the rule says, plus the 30 s clock tolerance: a sign-in 40 s old does not satisfy maxAge 3s, one 90 s old satisfies 2m', async () => {
      const { id } = await freshSignIn('bob');
      let restore = shiftClock(40_000);
      try {
        const api = await call(stack, '/recent', { cookie: `${cookieName}=${id}`, api: true });
        assert.equal(api.status, 401, `a 40 s old sign-in passed a 3 s maxAge (${api.status})`);
      } finally {
        restore();
      }
      restore = shiftClock(90_000);
      try {
        assert.equal((await call(stack, '/fresh', { cookie: `${cookieName}=${id}`, api: true })).status, 200);
      } finally {
        restore();
      }
    });

    test('a failed step-up (the IdP answers without mfa) creates no session and leaves the old one as it was', async () => {
      const { browser, id: oldId } = await freshSignIn('alice');
      const before = await sessionInfo(`${cookieName}=${oldId}`);
      const isAuthorize = (url: URL) => url.origin !== stack.url && url.searchParams.has('acr_values');
      const stopped = await browser.signIn(`${stack.url}/pay`, { username: 'alice', password: 'alice', stopAt: isAuthorize });
      assert.ok(stopped.stopped, 'the step-up went to the IdP asking for acr_values');
      const authorize = new URL(stopped.url);
      assert.equal(authorize.searchParams.get('acr_values'), 'mfa');
      // A tampered (or downgraded) authorization request: the IdP signs in with the password alone.
      authorize.searchParams.delete('acr_values');
      const answer = await browser.signIn(authorize.href, { username: 'alice', password: 'alice' });
      assert.equal(answer.status, 403, `the callback refuses an ID token with acr pwd (ended at ${answer.url})`);
      assert.equal(stack.sessionCookie(browser), oldId, 'the browser keeps its session cookie');
      const after = await sessionInfo(`${cookieName}=${oldId}`);
      assert.equal(after.acr, 'pwd');
      assert.deepEqual(after.session, before.session);
      assert.equal((await browser.request(`${stack.url}/pay`)).status, 302, 'still asked to step up');
      assert.equal((await browser.request(`${stack.url}/reports`)).status, 200, 'and still signed in');
    });

    test('a failed maxAge step-up (the IdP answers with the old auth_time) creates no session and leaves the old one', async () => {
      const { browser, id: oldId } = await freshSignIn('bob');
      const restore = shiftClock(60_000);
      try {
        const isAuthorize = (url: URL) => url.origin !== stack.url && url.searchParams.has('max_age');
        const stopped = await browser.signIn(`${stack.url}/recent`, { username: 'bob', password: 'bob', stopAt: isAuthorize });
        assert.ok(stopped.stopped, 'the step-up went to the IdP with max_age');
        const authorize = new URL(stopped.url);
        // A tampered authorization request: the IdP answers from its session, with the old auth_time.
        authorize.searchParams.delete('max_age');
        // Stop once the callback has answered, before any redirect it gives is followed.
        const answer = await browser.signIn(authorize.href, { username: 'bob', password: 'bob', stopAt: (url) => url.origin === stack.url && url.pathname !== '/auth/callback' });
        assert.ok(!answer.stopped, `the callback must not accept an auth_time older than max_age=3 (it redirected to ${answer.url}, having created a session)`);
        assert.equal(answer.status, 403, `the callback refuses a stale auth_time (ended at ${answer.url})`);
        assert.equal(stack.sessionCookie(browser), oldId);
        assert.equal(await sessionStatus(stack, `${cookieName}=${oldId}`), 200, 'the old session still works');
      } finally {
        restore();
      }
    });
  });

  describe('per-route upstreams', () => {
    test("a rule's requests go to its upstream, with the identity headers; other requests to TESSERA_UPSTREAM", async () => {
      const mainBefore = stack.upstream.requests.length;
      const { result, requests } = await reached(other, () => call(stack, '/svc/orders?page=2', { cookie: bob }));
      assert.equal(result.status, 200);
      assert.equal(requests.length, 1);
      assert.equal(requests[0]!.url, '/svc/orders?page=2');
      assert.equal(identityOf(requests[0]!)['x-tessera-sub'], 'bob');
      assert.equal(stack.upstream.requests.length, mainBefore, 'nothing went to the default upstream');

      const open = await reached(other, () => call(stack, '/svc/open/status'));
      assert.equal(open.result.status, 200);
      assert.equal(open.requests.length, 1, 'a public rule with its own upstream');
      assert.deepEqual(identityOf(open.requests[0]!), {});

      const elsewhere = await reached(other, () => call(stack, '/service', { cookie: bob }));
      assert.equal(elsewhere.result.status, 200);
      assert.equal(elsewhere.requests.length, 0, '/service is not below /svc');
      assert.equal(stack.upstream.requests.at(-1)!.url, '/service');
    });

    test('keep-alive: several requests in a row to each upstream all arrive', async () => {
      const { requests } = await reached(other, async () => {
        for (let i = 0; i < 5; i += 1) assert.equal((await call(stack, `/svc/n${i}`, { cookie: bob })).status, 200);
      });
      assert.deepEqual(requests.map((r) => r.url), ['/svc/n0', '/svc/n1', '/svc/n2', '/svc/n3', '/svc/n4']);
    });
  });

  describe('methods and exact', () => {
    test('methods: the rule applies to those methods only; others fall to the next rule (here the default)', async () => {
      const { result, requests } = await reached(stack.upstream, () => call(stack, '/hook', { method: 'POST', body: 'ping', headers: { 'content-type': 'text/plain' } }));
      assert.equal(result.status, 200);
      assert.equal(requests[0]!.method, 'POST');
      assert.equal(requests[0]!.body, 'ping');
      assert.equal((await call(stack, '/hook')).status, 302, 'GET /hook is not public');
      assert.equal((await call(stack, '/hook', { method: 'PUT', body: 'x', api: true })).status, 401);
    });

    test('exact: only the path itself (any query), not what is below it', async () => {
      const { result, requests } = await reached(stack.upstream, () => call(stack, '/exact?q=1'));
      assert.equal(result.status, 200);
      assert.equal(requests[0]!.url, '/exact?q=1');
      assert.equal((await call(stack, '/exact')).status, 200);
      assert.equal((await call(stack, '/exact/')).status, 302);
      assert.equal((await call(stack, '/exact/more')).status, 302);
      assert.equal((await call(stack, '/exactly')).status, 302);
    });
  });

  describe('paths', () => {
    const port = () => Number(new URL(stack.url).port);

    test('the upstream receives exactly the canonical path (dot segments, //, unreserved escapes decoded, others upper-cased); the query as sent', async () => {
      const cases: Array<[string, string]> = [
        ['/public/./a//b/%7Euser/%2e%2e/c?x=%2e&y=/../', '/public/a/b/c?x=%2e&y=/../'],
        ['/%70ublic/x', '/public/x'],
        ['//public///x/', '/public/x/'],
        ['/public/%c3%a9', '/public/%C3%A9'],
        ['/other/../public/y', '/public/y'],
        ['/public/%2E/z', '/public/z'],
      ];
      for (const [target, expected] of cases) {
        const { result, requests } = await reached(stack.upstream, () => rawRequest(port(), target));
        assert.equal(result.status, 200, target);
        assert.equal(requests.length, 1, target);
        assert.equal(requests[0]!.url, expected, target);
      }
    });

    test('dot segments cannot reach /admin under the public rule: /admin answers as /admin', async () => {
      for (const target of ['/public/../admin', '/public/%2e%2e/admin', '/public/%2E%2E/admin/x', '/public/.%2e/admin', '/public/x/../../admin']) {
        const anonymous = await reached(stack.upstream, () => rawRequest(port(), target));
        assert.equal(anonymous.result.status, 302, `${target} anonymous`);
        assert.match(header(anonymous.result, 'location') ?? '', /^\/auth\/login\?returnTo=%2Fadmin/);
        const asBob = await reached(stack.upstream, () => rawRequest(port(), target, { headers: { cookie: bob } }));
        assert.equal(asBob.result.status, 403, `${target} as bob`);
        assert.equal(anonymous.requests.length + asBob.requests.length, 0, target);
      }
    });

    test('encoded / or \\, a raw \\, control characters and "..;" answer 400 and reach nothing', async () => {
      for (const target of ['/public/..%2fadmin', '/public/..%2Fadmin', '/public/%5cadmin', '/public\\..\\admin', '/public/%00', '/public/%09x', '/public/..;/admin', '/public/x/%2e%2e;a/admin']) {
        const { result, requests } = await reached(stack.upstream, () => rawRequest(port(), target, { headers: { cookie: bob } }));
        assert.equal(result.status, 400, target);
        assert.equal(requests.length, 0, target);
      }
    });

    test('a path that normalises into /auth/* is answered by Tessera, never proxied', async () => {
      for (const target of ['/x/../auth/session', '/%2e/auth/session', '//auth/session', '//x:99999/../auth/session', '//[/../auth/session']) {
        const { result, requests } = await reached(stack.upstream, () => rawRequest(port(), target, { headers: { cookie: bob, accept: 'application/json' } }));
        assert.equal(requests.length, 0, `${target} reached the upstream as ${JSON.stringify(requests[0]?.url)}`);
        assert.equal(result.status, 200, target);
        assert.equal((JSON.parse(result.body) as { sub?: string }).sub, 'bob', target);
      }
    });

    test('the body limit and Expect: 100-continue judge the normalised path, not a raw "/auth/.." prefix', async () => {
      for (const target of ['/reports', '/auth/../reports', '/auth/%2e%2e/reports']) {
        const big = await rawExchange(port(), `POST ${target} HTTP/1.1\r\nHost: localhost\r\nCookie: ${bob}\r\nContent-Length: 20000000\r\n\r\nabc`, 1500);
        assert.equal(rawStatus(big), 413, `${target}: a declared 20 MB body is refused before anything is proxied`);
        const early = await rawExchange(port(), `POST ${target} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n`, 1000);
        assert.ok(!early.startsWith('HTTP/1.1 100'), `${target}: no 100 Continue before the session check (got ${JSON.stringify(early.slice(0, 40))})`);
        assert.equal(rawStatus(early.replace(/^HTTP\/1\.1 100[^\r]*\r\n\r\n/, '')), 302, target);
      }
    });

    test('";" parameters never carry a request past a rule: /admin;x=1 is refused (400: it reads as /admin to some servers, as another path to others)', async () => {
      for (const target of ['/admin;x=1', '/admin;/users', '/public;x/../admin', '/;/admin', '/public;x=1']) {
        const { result, requests } = await reached(stack.upstream, () => rawRequest(port(), target, { headers: { cookie: bob } }));
        assert.ok(result.status === 400 || result.status === 403, `${target}: ${result.status}`);
        assert.equal(requests.length, 0, target);
      }
    });
  });
});

describe('invalid route rules fail at start', () => {
  const bad = [
    { path: '/ok' },
    { path: '/a/../b' },
    { path: '/c', roles: 'admin' },
    { path: '/d', auth: 'sometimes' },
    { path: '/e', maxAge: 'soon' },
    { path: '/f', upstream: 'ftp://127.0.0.1:21' },
    { path: '/g', methods: [] },
    { path: '/h', auth: 'none', acr: 'mfa' },
    { path: '/i', exact: 'yes' },
    { path: '/j', colour: 'blue' },
  ];
  const expectedFields = ['[1].path', '[2].roles', '[3].auth', '[4].maxAge', '[5].upstream', '[6].methods', '[7].acr', '[8].exact', '[9]'];

  function problemsOf(run: () => unknown): string[] {
    try {
      run();
    } catch (err) {
      assert.ok(err instanceof TesseraError, String(err));
      assert.equal(err.code, 'ERR_CONFIG_INVALID');
      return err.message.split('\n').slice(1).map((l) => l.trim());
    }
    return assert.fail('the rules were accepted');
  }

  function assertNamed(lines: string[], key: string) {
    for (const field of expectedFields) {
      const line = lines.find((l) => l.startsWith(`${key}${field}:`) || (field === '[9]' && l.startsWith(`${key}[9]`)));
      assert.ok(line, `a line names ${key}${field} (got ${JSON.stringify(lines)})`);
    }
    assert.ok(!lines.some((l) => l.startsWith(`${key}[0]`)), 'the valid rule is not blamed');
    assert.equal(lines.length, expectedFields.length, `one line per problem: ${JSON.stringify(lines)}`);
  }

  test('TESSERA_ROUTES inline JSON: one line per problem naming TESSERA_ROUTES[index].field', () => {
    const lines = problemsOf(() => loadConfig({ ...serveEnv, TESSERA_ROUTES: JSON.stringify(bad) }));
    assertNamed(lines, 'TESSERA_ROUTES');
  });

  test('a present field of the wrong type is not reported as "required"', () => {
    const lines = problemsOf(() => loadConfig({ ...serveEnv, TESSERA_ROUTES: JSON.stringify(bad) }));
    for (const key of ['TESSERA_ROUTES[2].roles', 'TESSERA_ROUTES[8].exact']) {
      const line = lines.find((l) => l.startsWith(`${key}:`)) ?? '';
      assert.notEqual(line, `${key}: required`, `${key} was given (as a string); "required" misleads`);
    }
  });

  test('TESSERA_ROUTES as a file path, and the routes key of a --config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-routes-'));
    try {
      const file = join(dir, 'routes.json');
      writeFileSync(file, JSON.stringify(bad));
      assertNamed(problemsOf(() => loadConfig({ ...serveEnv, TESSERA_ROUTES: file })), 'TESSERA_ROUTES');
      const config = join(dir, 'tessera.json');
      writeFileSync(config, JSON.stringify({ TESSERA_ROUTES: bad }));
      assertNamed(problemsOf(() => loadConfig(serveEnv, config)), 'TESSERA_ROUTES');
      writeFileSync(config, JSON.stringify({ TESSERA_ROUTES: JSON.stringify(bad) }));
      assertNamed(problemsOf(() => loadConfig(serveEnv, config)), 'TESSERA_ROUTES');

      const missing = problemsOf(() => loadConfig({ ...serveEnv, TESSERA_ROUTES: join(dir, 'nope.json') }));
      assert.equal(missing.length, 1);
      assert.match(missing[0]!, /^TESSERA_ROUTES: /);
      assert.match(problemsOf(() => loadConfig({ ...serveEnv, TESSERA_ROUTES: '[{"path": "/a",}]' }))[0]!, /^TESSERA_ROUTES: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('valid rules from inline JSON, a file and --config are read to the same RouteRule list', () => {
    const rules = [
      { path: '/public', auth: 'none' },
      { path: '/admin', roles: ['admin'], acr: 'mfa', maxAge: '10m', methods: ['GET', 'post'] },
      { path: '/api', exact: true, upstream: 'http://127.0.0.1:8081/' },
    ];
    const expected = [
      { path: '/public', exact: false, methods: undefined, auth: 'none', roles: undefined, acr: undefined, maxAgeMs: undefined, upstream: undefined },
      { path: '/admin', exact: false, methods: ['GET', 'POST'], auth: 'required', roles: ['admin'], acr: 'mfa', maxAgeMs: 600_000, upstream: undefined },
      { path: '/api', exact: true, methods: undefined, auth: 'required', roles: undefined, acr: undefined, maxAgeMs: undefined, upstream: 'http://127.0.0.1:8081' },
    ];
    const dir = mkdtempSync(join(tmpdir(), 'tessera-routes-'));
    try {
      const file = join(dir, 'routes.json');
      writeFileSync(file, JSON.stringify(rules));
      const config = join(dir, 'tessera.json');
      writeFileSync(config, JSON.stringify({ TESSERA_ROUTES: rules }));
      assert.deepEqual(loadConfig({ ...serveEnv, TESSERA_ROUTES: `  ${JSON.stringify(rules)}` }).routes, expected);
      assert.deepEqual(loadConfig({ ...serveEnv, TESSERA_ROUTES: file }).routes, expected);
      assert.deepEqual(loadConfig(serveEnv, config).routes, expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a maxAge under a second (max_age=0: a re-login on every request) fails at start', () => {
    const lines = problemsOf(() => loadConfig({ ...serveEnv, TESSERA_ROUTES: JSON.stringify([{ path: '/x', maxAge: '500ms' }]) }));
    assert.ok(lines.some((l) => l.startsWith('TESSERA_ROUTES[0].maxAge:')), JSON.stringify(lines));
  });

  test('createTessera({ routes }) names routes[index].field', () => {
    const lines = problemsOf(() => createTessera({ ...minimalOptions, routes: bad } as never));
    assertNamed(lines, 'routes');
  });

  test('tessera serve with bad TESSERA_ROUTES exits before listening, naming the rule and field', async () => {
    const { code, stderr } = await runCli(['serve'], { ...serveEnv, TESSERA_ROUTES: JSON.stringify([{ path: '/ok' }, { path: '/admin', roles: [] }]) });
    assert.notEqual(code, 0);
    assert.match(stderr, /TESSERA_ROUTES\[1\]\.roles: /);
    assert.doesNotMatch(stderr, /TESSERA_ROUTES\[0\]/);
  });
});
