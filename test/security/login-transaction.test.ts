/**
 * SECURITY.md, "Login transaction": PKCE, state, nonce, the transaction cookie, forged and
 * replayed callbacks, RFC 9207 `iss`, `returnTo`, and the callback page — through the real flow.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { resolveConfig } from '../../src/config/index.js';
import { parseKeyRing } from '../../src/keys/index.js';
import { TransactionCookies, transactionTtlSeconds } from '../../src/oidc/transaction.js';
import { createTessera, internalsOf } from '../../src/tessera.js';
import type { Browser, Page } from '../helpers/browser.js';
import { closeServer, listen, startStack, testLogLevel, type Stack } from '../helpers/stack.js';
import { atCallback, loginUntilCallback, sessionStatus, sha256 } from './support.js';

/** SECURITY.md's rejected `returnTo` examples, plus a few of the same families. */
const hostileReturnTo = [
  'https://evil.example', '//evil.example', '/\\evil.example', '\\/evil.example', 'https:evil.example',
  '/%2F%2Fevil.example', 'javascript:alert(document.cookie)', 'data:text/html,<script>alert(1)</script>',
  '%0d%0aSet-Cookie:%20x=1', '/%0d%0aSet-Cookie:%20x=1', 'https://app@evil.example', '/\t/evil.example',
  '///evil.example', '/%5Cevil.example', '/%252F%252Fevil.example', 'HTTPS://evil.example', ' //evil.example',
  'http:/evil.example',
];

describe('login transaction', () => {
  let stack: Stack;
  before(async () => { stack = await startStack(); });
  after(async () => { await stack.close(); });

  /** The authorization request a login sends the browser to, and the Set-Cookie values it carries. */
  async function startLogin(browser: Browser, returnTo = '/'): Promise<{ authorize: URL; page: Page }> {
    const page = await browser.request(`${stack.url}/auth/login?returnTo=${encodeURIComponent(returnTo)}`);
    assert.equal(page.status, 302);
    return { authorize: new URL(page.headers.get('location')!), page };
  }

  /** Users of a store listing, to show that a rejected callback left no session behind. */
  const sessionsOf = async (sub: string) => (await internalsOf(stack.tessera).store.listByUser(sub)).length;

  const txnCookieNames = (browser: Browser) => browser.jar.names('localhost').filter((n) => n.startsWith('tessera-txn-'));

  describe('PKCE S256, state and nonce unique per attempt, bound by a sealed, short-lived, single-use cookie', () => {
    test('every attempt sends PKCE S256 and its own state and nonce of 32 random bytes', async () => {
      const browser = stack.browser();
      const seen = { state: new Set<string>(), nonce: new Set<string>(), code_challenge: new Set<string>() };
      for (let i = 0; i < 3; i++) {
        const { authorize } = await startLogin(browser);
        const q = authorize.searchParams;
        assert.equal(q.get('code_challenge_method'), 'S256');
        assert.equal(q.get('response_type'), 'code');
        for (const name of ['state', 'nonce', 'code_challenge'] as const) {
          const value = q.get(name)!;
          assert.match(value, /^[A-Za-z0-9_-]{43}$/, name);
          seen[name].add(value);
        }
      }
      for (const values of Object.values(seen)) assert.equal(values.size, 3);
    });

    test('the transaction cookie is sealed, HttpOnly and lives at most 10 minutes', async () => {
      const browser = stack.browser();
      const { authorize, page } = await startLogin(browser);
      const [cookie] = page.headers.getSetCookie();
      assert.match(cookie!, /^tessera-txn-[A-Za-z0-9_-]{16}=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=(\d+)$/);
      assert.ok(Number(/Max-Age=(\d+)/.exec(cookie!)![1]) <= 600);
      const value = cookie!.split(';')[0]!.split('=')[1]!;
      for (const secret of [authorize.searchParams.get('state')!, authorize.searchParams.get('nonce')!]) {
        assert.ok(!value.includes(secret) && !Buffer.from(value.split('.').at(-1)!, 'base64url').toString('latin1').includes(secret), 'nothing readable in the cookie');
      }
    });

    test('a transaction older than 10 minutes is not accepted', async () => {
      const browser = stack.browser();
      const { authorize } = await startLogin(browser);
      const transactions = new TransactionCookies(parseKeyRing(stack.keys), false);
      const state = authorize.searchParams.get('state')!;
      const header = browser.jar.header(`${stack.url}/auth/callback`);
      assert.ok(transactions.find(state, header), 'fresh transaction found');
      assert.equal(transactions.find(state, header, Date.now() + (transactionTtlSeconds + 1) * 1000), undefined);
    });

    test('a tampered transaction cookie is rejected at the callback', async () => {
      const browser = stack.browser();
      const callback = await loginUntilCallback(stack, browser);
      const name = txnCookieNames(browser)[0]!;
      const value = browser.jar.get(name, stack.url)!;
      const flipped = value.slice(0, -2) + (value.at(-2) === 'A' ? 'B' : 'A') + value.at(-1);
      browser.jar.store(stack.url, new Headers({ 'set-cookie': `${name}=${flipped}; Path=/` }));
      const before = await sessionsOf('alice');
      const response = await browser.request(callback.href);
      assert.equal(response.status, 400);
      assert.equal(stack.sessionCookie(browser), undefined);
      assert.equal(await sessionsOf('alice'), before);
    });

    test('a transaction cookie sealed for another purpose does not open as a transaction', async () => {
      const browser = stack.browser();
      const callback = await loginUntilCallback(stack, browser);
      const name = txnCookieNames(browser)[0]!;
      const json = parseKeyRing(stack.keys).open(browser.jar.get(name, stack.url)!, 'txn')!;
      browser.jar.store(stack.url, new Headers({ 'set-cookie': `${name}=${parseKeyRing(stack.keys).seal(json, 'csrf')}; Path=/` }));
      assert.equal((await browser.request(callback.href)).status, 400);
    });

    test('concurrent logins in several tabs each complete, and stale transaction cookies are bounded', async () => {
      // The two-tab case and the bound are also in test/lifecycle/login.test.ts; here three tabs
      // finish in reverse order, and the bound holds after they finish.
      const browser = stack.browser();
      const callbacks = [];
      for (const path of ['/one', '/two', '/three']) callbacks.push(await loginUntilCallback(stack, browser, 'alice', path));
      for (const [i, callback] of [...callbacks.entries()].reverse()) {
        const page = await browser.navigate(callback.href);
        assert.equal(page.url, `${stack.url}${['/one', '/two', '/three'][i]}`);
      }
      for (let i = 0; i < 10; i++) await browser.request(`${stack.url}/auth/login`);
      assert.ok(txnCookieNames(browser).length <= 3);
    });
  });

  describe('forged callback, replayed state, stolen code, wrong nonce, iss mismatch → rejected', () => {
    test('a forged callback (code and state without the matching transaction) is rejected', async () => {
      const attacker = stack.browser();
      const callback = await loginUntilCallback(stack, attacker, 'bob');
      const victim = stack.browser();
      await startLogin(victim); // the victim even has a transaction of its own
      const before = await sessionsOf('bob');
      const response = await victim.request(callback.href);
      assert.equal(response.status, 400);
      assert.match(response.text, /not started in this browser/);
      assert.equal(stack.sessionCookie(victim), undefined);
      assert.equal(await sessionsOf('bob'), before, 'no session behind');
    });

    test('a replayed callback is rejected once the transaction is used', async () => {
      const browser = stack.browser();
      const callback = await loginUntilCallback(stack, browser);
      const first = await browser.request(callback.href);
      assert.equal(first.status, 302);
      const id = stack.sessionCookie(browser);
      const replay = await browser.request(callback.href);
      assert.equal(replay.status, 400);
      assert.equal(replay.headers.getSetCookie().some((c) => c.startsWith('tessera=')), false, 'no new session');
      assert.equal(stack.sessionCookie(browser), id);
    });

    test('a replayed callback is rejected even when the transaction cookie is replayed with it', async () => {
      const browser = stack.browser();
      const callback = await loginUntilCallback(stack, browser);
      const cookie = browser.jar.header(callback);
      const first = await fetch(callback, { headers: { cookie }, redirect: 'manual' });
      assert.equal(first.status, 302);
      const before = await sessionsOf('alice');
      const replay = await fetch(callback, { headers: { cookie, accept: 'application/json' }, redirect: 'manual' });
      assert.equal(replay.status, 400);
      assert.equal(((await replay.json()) as { error: string }).error, 'transaction_replayed');
      assert.equal(await sessionsOf('alice'), before);
    });

    test('a stolen code is useless without the verifier of the browser that started the login', async () => {
      const victim = stack.browser();
      const stolen = await loginUntilCallback(stack, victim);
      const attacker = stack.browser();
      const { authorize } = await startLogin(attacker);
      // The attacker puts the stolen code into a callback for a transaction of its own.
      const forged = new URL(stolen);
      forged.searchParams.set('state', authorize.searchParams.get('state')!);
      const before = await sessionsOf('alice');
      const response = await attacker.request(forged.href, { headers: { accept: 'application/json' } });
      assert.equal(response.status, 400);
      assert.equal((JSON.parse(response.text) as { error: string }).error, 'code_rejected');
      assert.equal(stack.sessionCookie(attacker), undefined);
      assert.equal(await sessionsOf('alice'), before);
      // With the victim's own state it is a forged callback.
      assert.equal((await attacker.request(stolen.href)).status, 400);
    });

    test('an ID token whose nonce is not the one this browser sent is rejected', async () => {
      const browser = stack.browser();
      const { authorize } = await startLogin(browser);
      // The authorization request is altered on its way to the IdP (or another one is injected).
      authorize.searchParams.set('nonce', 'attacker-chosen-nonce-0123456789abcdefghijk');
      const callback = await browser.signIn(authorize.href, { username: 'alice', password: 'alice', stopAt: atCallback });
      const before = await sessionsOf('alice');
      const response = await browser.request(callback.url, { headers: { accept: 'application/json' } });
      assert.equal(response.status, 400);
      assert.match((JSON.parse(response.text) as { error_description: string }).error_description, /"nonce"/);
      assert.equal(stack.sessionCookie(browser), undefined);
      assert.equal(await sessionsOf('alice'), before);
    });

    test('a callback whose iss is not the issuer is rejected (RFC 9207, advertised by the IdP)', async () => {
      for (const iss of ['https://evil.example', `${stack.idp.issuer}/`, stack.idp.issuer.toUpperCase(), null]) {
        const browser = stack.browser();
        const callback = await loginUntilCallback(stack, browser);
        assert.equal(callback.searchParams.get('iss'), stack.idp.issuer, 'the IdP sends iss');
        if (iss === null) callback.searchParams.delete('iss');
        else callback.searchParams.set('iss', iss);
        const response = await browser.request(callback.href, { headers: { accept: 'application/json' } });
        assert.equal(response.status, 400, String(iss));
        assert.match((JSON.parse(response.text) as { error_description: string }).error_description, /"iss"/);
        assert.equal(stack.sessionCookie(browser), undefined);
      }
    });

    test('a discovery document naming another issuer is refused, and no browser is sent to its endpoints', async () => {
      const metadata = await (await fetch(stack.idp.discoveryUrl)).json() as Record<string, unknown>;
      const impostor = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...metadata, issuer: 'https://evil.example', authorization_endpoint: 'https://evil.example/authorize' }));
      });
      const impostorUrl = await listen(impostor, 0);
      const tessera = createTessera({
        publicUrl: stack.url, issuer: stack.idp.issuer, discoveryUrl: `${impostorUrl}/cis/oidc/.well-known/openid-configuration`,
        clientId: 'tessera-dev', clientSecret: 'tessera-dev-secret', keys: stack.keys, store: 'memory:', logLevel: testLogLevel(),
      });
      try {
        const response = (await tessera.handle(new Request(`${stack.url}/auth/login`, { headers: { accept: 'application/json' } })))!;
        assert.equal(response.status, 503);
        assert.equal(response.headers.get('location'), null);
        assert.doesNotMatch(await response.text(), /evil\.example\/authorize/);
      } finally {
        await tessera.close();
        await closeServer(impostor);
      }
    });

    test('the browser never receives the IdP tokens', async () => {
      const browser = stack.browser();
      const callback = await loginUntilCallback(stack, browser);
      const response = await browser.request(callback.href);
      const session = await browser.request(`${stack.url}/auth/session`, { headers: { accept: 'application/json' } });
      for (const page of [response, session]) {
        const everything = JSON.stringify([...page.headers]) + page.text;
        assert.doesNotMatch(everything, /eyJ[\w-]+\.eyJ/, 'no JWT in what the browser gets');
      }
      const tokens = await internalsOf(stack.tessera).sessions.tokensFor(sha256(stack.sessionCookie(browser)!));
      assert.ok(tokens?.access_token, 'the access token exists, server-side');
      assert.equal(tokens.id_token, undefined, 'the ID token is kept only when end-session needs it');
    });

    test('a callback with an error or without a code makes no session', async () => {
      for (const change of [{ error: 'access_denied' }, { error: 'server_error' }, { code: '' }]) {
        const browser = stack.browser();
        const callback = await loginUntilCallback(stack, browser);
        for (const [k, v] of Object.entries(change)) {
          if (v === '') callback.searchParams.delete(k);
          else callback.searchParams.set(k, v);
        }
        const response = await browser.request(callback.href);
        assert.ok(response.status === 400 || response.status === 403, `${JSON.stringify(change)} → ${response.status}`);
        assert.equal(stack.sessionCookie(browser), undefined);
      }
    });
  });

  describe('returnTo and post-logout targets: only same-origin relative paths', () => {
    test('every hostile returnTo of SECURITY.md ends the real sign-in at /', async () => {
      for (const returnTo of hostileReturnTo) {
        const browser = stack.browser();
        const page = await stack.login(browser, { returnTo });
        assert.equal(page.url, `${stack.url}/`, JSON.stringify(returnTo));
        assert.equal(page.status, 200);
      }
    });

    test('a same-origin path with its query survives the sign-in', async () => {
      const page = await stack.login(stack.browser(), { returnTo: '/reports/2024?tab=a%2Fb&x=1#top' });
      assert.equal(page.url, `${stack.url}/reports/2024?tab=a%2Fb&x=1#top`);
    });

    test('the login URL an anonymous request is sent to never carries an off-site returnTo onward', async () => {
      const browser = stack.browser();
      const start = await browser.request(`${stack.url}//evil.example/x`);
      assert.equal(start.status, 302);
      const returnTo = new URL(start.headers.get('location')!, stack.url).searchParams.get('returnTo')!;
      const page = await stack.login(browser, { returnTo });
      // Doubled slashes merge into one path on this origin (`/evil.example/x`), never another host.
      assert.equal(new URL(page.url).origin, new URL(stack.url).origin);
    });

    test('a post-logout target outside this origin is refused at start', () => {
      const base = { issuer: 'http://localhost:4000', clientId: 'c', clientSecret: 's', development: true } as const;
      for (const target of hostileReturnTo) {
        assert.throws(() => resolveConfig({ ...base, postLogoutPath: target }), /postLogoutPath|TESSERA_POST_LOGOUT_PATH/, JSON.stringify(target));
      }
      assert.equal(resolveConfig({ ...base, postLogoutPath: '/bye?x=1' }).postLogoutPath, '/bye?x=1');
    });
  });

  describe('callback page: Referrer-Policy no-referrer, no third-party resources', () => {
    test('the callback answers with Referrer-Policy: no-referrer, whether it succeeds or fails', async () => {
      const browser = stack.browser();
      const callback = await loginUntilCallback(stack, browser);
      const success = await browser.request(callback.href);
      assert.equal(success.status, 302);
      assert.equal(success.headers.get('referrer-policy'), 'no-referrer');
      const failure = await browser.request(callback.href);
      assert.equal(failure.status, 400);
      assert.equal(failure.headers.get('referrer-policy'), 'no-referrer');
    });

    test('the callback error page loads nothing from anywhere and forbids it by CSP', async () => {
      const browser = stack.browser();
      const page = await browser.request(`${stack.url}/auth/callback?code=x&state=${'s'.repeat(43)}&error_description=%3Cimg%20src%3Dhttps%3A%2F%2Fevil.example%3E`);
      assert.equal(page.status, 400);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.doesNotMatch(page.text, /<(script|img|link|iframe|object|embed)\b/i);
      assert.doesNotMatch(page.text, /(src|href)\s*=\s*["']?(https?:)?\/\//i);
      assert.doesNotMatch(page.text, /url\(/i);
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      const idpError = await browser.request(`${stack.url}/auth/callback?error=x&error_description=${encodeURIComponent('<img src=https://evil.example/p.png>')}&state=${'t'.repeat(43)}`);
      assert.doesNotMatch(idpError.text, /<img/i);
    });

    test('an IdP error description is shown as text, never as markup', async () => {
      const browser = stack.browser();
      const callback = await loginUntilCallback(stack, browser);
      callback.searchParams.delete('code');
      callback.searchParams.set('error', 'server_error');
      callback.searchParams.set('error_description', '<script src="https://evil.example/x.js"></script><img src=//evil.example>');
      const page = await browser.request(callback.href);
      assert.equal(page.status, 400);
      assert.doesNotMatch(page.text, /<script|<img/i);
      assert.match(page.text, /&lt;script/);
    });
  });

  test('a session made by a good login still works after all these rejected ones', async () => {
    const browser = stack.browser();
    await stack.login(browser);
    assert.equal(await sessionStatus(stack, `tessera=${stack.sessionCookie(browser)!}`), 200);
  });
});
