/**
 * SECURITY.md, "Session identifiers and cookies": each line as tests, against the real stack
 * (dev IdP, gateway, SQLite).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startDevIdp, type DevIdp } from '../../src/dev-idp/index.js';
import { generateKeyEntry } from '../../src/keys/index.js';
import { newSessionId } from '../../src/session/ids.js';
import { sqliteStore } from '../../src/stores/index.js';
import type { SessionStore } from '../../src/stores/types.js';
import { createTessera, type Tessera, internalsOf } from '../../src/tessera.js';
import { Browser } from '../helpers/browser.js';
import { startStack, type Stack } from '../helpers/stack.js';
import {
  atCallback, countingStore, loginUntilCallback, sessionStatus, sha256, signIn, sleep, upstreamRef,
} from './support.js';

const idPattern = /^[A-Za-z0-9_-]{43}$/;
const adminToken = 'admin-token-for-the-security-tests-0123456789';
const httpsOrigin = 'https://app.example.com';
const httpsClient = {
  client_id: 'https-app',
  client_secret: 'https-app-secret',
  redirect_uris: [`${httpsOrigin}/auth/callback`],
  post_logout_redirect_uris: [`${httpsOrigin}/`],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_post',
};

/** The `name=value` pairs of a response's Set-Cookie headers, for a Cookie header. */
const cookiePairs = (response: Response) => response.headers.getSetCookie().map((c) => c.split(';')[0]!).join('; ');

describe('session identifiers and cookies', () => {
  let idpDir: string;
  let idp: DevIdp;
  let stack: Stack;
  let store: SessionStore & { gets: number };
  let storeDir: string;

  before(async () => {
    idpDir = mkdtempSync(join(tmpdir(), 'tessera-sec-idp-'));
    storeDir = mkdtempSync(join(tmpdir(), 'tessera-sec-store-'));
    idp = await startDevIdp({ port: 0, dataDir: idpDir, quiet: true, clients: [httpsClient] });
    store = countingStore(sqliteStore({ path: join(storeDir, 'sessions.db') }));
    stack = await startStack({ idp, store, options: { adminToken } });
  });
  after(async () => {
    await stack.close();
    await store.close();
    await idp.close();
    rmSync(idpDir, { recursive: true, force: true });
    rmSync(storeDir, { recursive: true, force: true });
  });

  describe('32 bytes from a CSPRNG, base64url; new on every authentication, silent renewal and step-up', () => {
    test('every sign-in gets a new id of 32 bytes in base64url', async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 4; i++) {
        const id = await signIn(stack, stack.browser());
        assert.match(id, idPattern);
        const bytes = Buffer.from(id, 'base64url');
        assert.equal(bytes.length, 32);
        assert.equal(bytes.toString('base64url'), id, 'canonical base64url');
        ids.add(id);
      }
      assert.equal(ids.size, 4);
    });

    test('generated ids are unique and their bits look uniformly random', () => {
      const ids = Array.from({ length: 2000 }, () => newSessionId());
      assert.equal(new Set(ids).size, ids.length);
      let ones = 0;
      for (const id of ids) {
        for (const byte of Buffer.from(id, 'base64url')) {
          for (let b = byte; b > 0; b >>= 1) ones += b & 1;
        }
      }
      const bits = ids.length * 256;
      // A counter, a timestamp or a short seed would be far off; CSPRNG output is within a few σ (σ ≈ 360).
      assert.ok(Math.abs(ones - bits / 2) < 3000, `${ones} of ${bits} bits set`);
    });

    test('signing in again in the same browser issues a new id and ends the old one', async () => {
      const browser = stack.browser();
      const first = await signIn(stack, browser);
      const second = await signIn(stack, browser);
      assert.notEqual(second, first);
      assert.equal(await sessionStatus(stack, `tessera=${first}`), 401);
      assert.equal(await sessionStatus(stack, `tessera=${second}`), 200);
    });

    test('step-up to MFA issues a new id and ends the password-only session', async () => {
      const browser = stack.browser();
      const before = await signIn(stack, browser);
      const after = await signIn(stack, browser, { acr: 'mfa', otp: '123456' });
      assert.notEqual(after, before);
      assert.equal(await sessionStatus(stack, `tessera=${before}`), 401);
      const session = await (await fetch(`${stack.url}/auth/session`, { headers: { cookie: `tessera=${after}` } })).json() as { acr: string; amr: string[] };
      assert.equal(session.acr, 'mfa');
      assert.ok(session.amr.includes('mfa'));
    });

    test('a cookie planted before sign-in is dead after it (session fixation)', async () => {
      const attacker = stack.browser();
      const planted = await signIn(stack, attacker, { username: 'bob' });
      const victim = stack.browser();
      victim.jar.store(stack.url, new Headers({ 'set-cookie': `tessera=${planted}; Path=/` }));
      const page = await stack.login(victim);
      assert.equal(JSON.parse(page.text).headers['x-tessera-sub'], 'alice');
      const now = stack.sessionCookie(victim)!;
      assert.notEqual(now, planted);
      assert.equal(await sessionStatus(stack, `tessera=${planted}`), 401, 'the planted id authenticates nothing');
      assert.equal(await sessionStatus(stack, `tessera=${now}`), 200);
    });

    test('a made-up id planted before sign-in is not adopted as the session id', async () => {
      const planted = newSessionId();
      const victim = stack.browser();
      victim.jar.store(stack.url, new Headers({ 'set-cookie': `tessera=${planted}; Path=/` }));
      await stack.login(victim);
      assert.notEqual(stack.sessionCookie(victim), planted);
      assert.equal(await store.get(sha256(planted)), undefined);
      assert.equal(await sessionStatus(stack, `tessera=${planted}`), 401);
    });

    test('the login transaction is destroyed at the callback, never turned into the session', async () => {
      const browser = stack.browser();
      const callback = await loginUntilCallback(stack, browser);
      const txnName = browser.jar.names('localhost').find((n) => n.startsWith('tessera-txn-'))!;
      const txnValue = browser.jar.get(txnName, stack.url)!;
      const response = await browser.request(callback.href);
      assert.equal(response.status, 302);
      assert.ok(response.headers.getSetCookie().some((c) => c.startsWith(`${txnName}=;`) && /Max-Age=0/.test(c)), 'transaction cookie cleared');
      assert.equal(browser.jar.get(txnName, stack.url), undefined);
      const id = stack.sessionCookie(browser)!;
      const state = callback.searchParams.get('state')!;
      for (const secret of [txnValue, state, callback.searchParams.get('code')!]) {
        assert.notEqual(id, secret);
        assert.equal(await sessionStatus(stack, `tessera=${secret}`), 401);
      }
    });
  });

  describe('silent renewal', () => {
    let shortIdp: DevIdp;
    let shortDir: string;
    let short: Stack;
    before(async () => {
      shortDir = mkdtempSync(join(tmpdir(), 'tessera-sec-short-'));
      shortIdp = await startDevIdp({ port: 0, dataDir: shortDir, quiet: true, accessTokenTtl: 1 });
      short = await startStack({ idp: shortIdp });
    });
    after(async () => {
      await short.close();
      await shortIdp.close();
      rmSync(shortDir, { recursive: true, force: true });
    });

    test('silent renewal after the access token expired issues a new id and ends the old one', async () => {
      const browser = short.browser();
      const first = await signIn(short, browser);
      await sleep(1500);
      const page = await browser.navigate(`${short.url}/after-expiry`);
      assert.equal(page.url, `${short.url}/after-expiry`, 'renewed without a login form');
      assert.equal(page.status, 200);
      const renewed = short.sessionCookie(browser)!;
      assert.match(renewed, idPattern);
      assert.notEqual(renewed, first);
      assert.equal(await sessionStatus(short, `tessera=${first}`), 401);
    });
  });

  describe('only the cookie carries the id', () => {
    let id: string;
    before(async () => { id = await signIn(stack, stack.browser()); });

    test('the valid id in a query, a header or as a bearer token authenticates nothing', async () => {
      assert.equal(await sessionStatus(stack, `tessera=${id}`), 200, 'the id itself is valid');
      assert.equal(await sessionStatus(stack, undefined, { query: `?tessera=${id}` }), 401);
      assert.equal(await sessionStatus(stack, undefined, { query: `?session=${id}&__Host-tessera=${id}` }), 401);
      assert.equal(await sessionStatus(stack, undefined, { headers: { authorization: `Bearer ${id}` } }), 401);
      assert.equal(await sessionStatus(stack, undefined, { headers: { 'x-tessera-session': id } }), 401);
      assert.equal(await sessionStatus(stack, undefined, { headers: { 'x-tessera': id, tessera: id } }), 401);
    });

    test('the valid id in a query, a form field or a header is not let through to the upstream', async () => {
      const seen = stack.upstream.requests.length;
      const attempts: Array<[string, RequestInit]> = [
        [`/data?tessera=${id}`, {}],
        ['/data', { headers: { authorization: `Bearer ${id}` } }],
        ['/data', { headers: { 'x-tessera-session': id } }],
        ['/data', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `tessera=${id}` }],
        ['/data', { headers: { cookie: `session=${id}; __Host-tessera=${id}` } }],
      ];
      for (const [path, init] of attempts) {
        const response = await fetch(`${stack.url}${path}`, { ...init, headers: { accept: 'application/json', ...init.headers as Record<string, string> }, redirect: 'manual' });
        assert.equal(response.status, 401, `${path} ${JSON.stringify(init)}`);
        await response.body?.cancel();
      }
      assert.equal(stack.upstream.requests.length, seen, 'nothing reached the upstream');
    });
  });

  describe('format checked before any store lookup', () => {
    test('malformed cookie values never reach the store', async () => {
      const id = await signIn(stack, stack.browser());
      const malformed = [
        '', 'x', id.slice(0, 42), `${id}A`, `${id.slice(0, 42)}+`, `${id.slice(0, 42)}/`, `${id.slice(0, 42)}=`,
        `${id.slice(0, 42)}.`, `${id.slice(0, 41)}%41`, `"${id}"`, `${id.slice(0, 20)} ${id.slice(21)}`, `${id.slice(0, 42)}é`,
        'A'.repeat(5000), `${id}${id}`, "' OR '1'='1", '../../etc/passwd', '\u0000'.repeat(43),
      ];
      const before = store.gets;
      for (const value of malformed) {
        // fetch refuses control characters in headers; those go through the in-process check only.
        if (![...value].some((c) => c.charCodeAt(0) < 0x20)) assert.equal(await sessionStatus(stack, `tessera=${value}`), 401, JSON.stringify(value));
        const result = await stack.tessera.authenticate(`tessera=${value}`);
        assert.equal(result.authenticated, false);
      }
      assert.equal(store.gets, before, 'no store lookups for malformed ids');
      assert.equal(await sessionStatus(stack, `tessera=${newSessionId()}`), 401);
      assert.equal(store.gets, before + 1, 'a well-formed unknown id is looked up once');
    });
  });

  describe('duplicate session cookies', () => {
    test('two session cookies in one Cookie header are rejected, whichever comes first', async () => {
      const id = await signIn(stack, stack.browser());
      const other = await signIn(stack, stack.browser(), { username: 'bob' });
      for (const header of [`tessera=${id}; tessera=${id}`, `tessera=${id}; tessera=${other}`, `tessera=${other}; theme=dark; tessera=${id}`, `tessera=${id};tessera=`]) {
        const response = await fetch(`${stack.url}/auth/session`, { headers: { cookie: header } });
        assert.equal(response.status, 401, header);
        assert.equal(response.headers.get('cache-control'), 'no-store');
        const seen = stack.upstream.requests.length;
        const proxied = await fetch(`${stack.url}/page`, { headers: { cookie: header, accept: 'application/json' } });
        assert.equal(proxied.status, 401);
        assert.equal(stack.upstream.requests.length, seen);
      }
      assert.equal(await sessionStatus(stack, `tessera=${id}`), 200, 'the same id alone is valid');
    });
  });

  describe('an https deployment', () => {
    let https: Tessera;
    before(() => {
      const shared: SessionStore = { ...internalsOf(stack.tessera).store, close: async () => {} };
      https = createTessera({
        publicUrl: httpsOrigin,
        issuer: idp.issuer,
        discoveryUrl: idp.discoveryUrl,
        clientId: httpsClient.client_id,
        clientSecret: httpsClient.client_secret,
        keys: generateKeyEntry(),
      }, { store: shared });
    });
    after(async () => { await https.close(); });

    /** A real sign-in through the IdP, ending with the https deployment's callback response. */
    async function httpsSignIn(): Promise<{ login: Response; callback: Response }> {
      const login = await https.handle(new Request(`${httpsOrigin}/auth/login?returnTo=/x`));
      assert.ok(login);
      const atCallbackPage = await new Browser().signIn(login.headers.get('location')!, { username: 'alice', password: 'alice', stopAt: (u) => u.origin === httpsOrigin });
      assert.ok(atCallbackPage.stopped);
      const callback = await https.handle(new Request(atCallbackPage.url, { headers: { cookie: cookiePairs(login) } }));
      assert.ok(callback);
      return { login, callback };
    }

    test('the session cookie is __Host-tessera: Secure, HttpOnly, SameSite=Lax, Path=/, no Domain, not persistent, set with no-store', async () => {
      const { login, callback } = await httpsSignIn();
      assert.equal(callback.status, 302);
      assert.equal(callback.headers.get('location'), '/x');
      assert.equal(callback.headers.get('cache-control'), 'no-store');
      const session = callback.headers.getSetCookie().find((c) => c.startsWith('__Host-tessera='));
      assert.ok(session, callback.headers.getSetCookie().join('\n'));
      assert.match(session, /^__Host-tessera=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Secure$/);
      assert.doesNotMatch(session, /domain|max-age|expires/i);
      const txn = login.headers.getSetCookie();
      assert.equal(login.headers.get('cache-control'), 'no-store');
      assert.ok(txn.length > 0 && txn.every((c) => /^__Host-tessera-txn-[^=]+=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Secure; Max-Age=600$/.test(c)), txn.join('\n'));
    });

    test('cookies are cleared with the same __Host- attributes and no-store', async () => {
      const { callback } = await httpsSignIn();
      const cookie = cookiePairs(callback).split('; ').find((c) => c.startsWith('__Host-tessera='))!;
      const logout = await https.handle(new Request(`${httpsOrigin}/auth/logout`, { method: 'POST', headers: { cookie, origin: httpsOrigin } }));
      assert.equal(logout?.status, 303);
      assert.equal(logout.headers.get('cache-control'), 'no-store');
      assert.deepEqual(logout.headers.getSetCookie(), ['__Host-tessera=; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT']);
      const expired = await https.handle(new Request(`${httpsOrigin}/auth/session`, { headers: { cookie } }));
      assert.equal(expired?.status, 401);
      assert.equal(expired.headers.get('cache-control'), 'no-store');
      assert.match(expired.headers.getSetCookie()[0] ?? '', /^__Host-tessera=; Path=\/; HttpOnly; SameSite=Lax; Secure; Max-Age=0/);
    });

    test('SameSite=Strict can be configured', async () => {
      const strict = createTessera({
        publicUrl: httpsOrigin, issuer: idp.issuer, discoveryUrl: idp.discoveryUrl,
        clientId: httpsClient.client_id, clientSecret: httpsClient.client_secret, keys: generateKeyEntry(), cookieSameSite: 'strict', store: 'memory:',
      });
      const { setCookie } = await internalsOf(strict).sessions.create({ access_token: 'x' }, { sub: 'alice', roles: [], accessTokenExpiresAt: Math.floor(Date.now() / 1000) + 60 });
      assert.match(setCookie, /^__Host-tessera=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Secure$/);
      assert.match(internalsOf(strict).sessions.clearCookieHeader, /SameSite=Strict; Secure; Max-Age=0/);
      await strict.close();
    });

    test('a bare tessera= cookie on an https deployment is ignored (cookie tossing)', async () => {
      const id = await signIn(stack, stack.browser());
      assert.equal((await https.authenticate(`__Host-tessera=${id}`)).authenticated, true, 'the id is valid under the __Host- name');
      const tossed = await https.authenticate(`tessera=${id}`);
      assert.equal(tossed.authenticated, false);
      assert.equal(tossed.authenticated === false && tossed.reason, 'no_cookie');
      const response = await https.handle(new Request(`${httpsOrigin}/auth/session`, { headers: { cookie: `tessera=${id}` } }));
      assert.equal(response?.status, 401);

      const bob = await signIn(stack, stack.browser(), { username: 'bob' });
      const mixed = await https.authenticate(`tessera=${bob}; __Host-tessera=${id}`);
      assert.equal(mixed.authenticated && mixed.session.sub, 'alice', 'the tossed cookie does not replace the real one');
      assert.equal((await https.authenticate(`__Host-tessera=${bob}; __Host-tessera=${id}`)).authenticated, false, 'two __Host- cookies are rejected too');
    });
  });

  describe('store key is SHA-256 of the id; logs show only a short hash; a store dump yields no usable cookie', () => {
    test('the store holds the session under SHA-256 of the id, never under the id', async () => {
      const id = await signIn(stack, stack.browser());
      const record = await store.get(sha256(id));
      assert.equal(record?.sub, 'alice');
      assert.equal(await store.get(id), undefined);
      const keys = (await store.listByUser('alice')).map((s) => s.key);
      assert.ok(keys.includes(sha256(id)));
      assert.ok(!keys.includes(id));
    });

    test('no string in a dump of the SQLite files works as a session cookie', async () => {
      const ids = [await signIn(stack, stack.browser()), await signIn(stack, stack.browser(), { username: 'bob' })];
      const dump = Buffer.concat(readdirSync(storeDir).filter((f) => f.startsWith('sessions.db')).map((f) => readFileSync(join(storeDir, f))));
      const text = dump.toString('latin1');
      for (const id of ids) {
        assert.ok(text.includes(sha256(id)), 'the dump holds the store keys (so the scan sees the sessions)');
        assert.ok(!text.includes(id), 'the id is not in the dump');
      }
      const candidates = new Set(text.match(/[A-Za-z0-9_-]{43}/g) ?? []);
      for (const token of text.match(/[A-Za-z0-9_-]{44,}/g) ?? []) {
        for (let i = 0; i + 43 <= token.length && candidates.size < 5000; i += 1) candidates.add(token.slice(i, i + 43));
      }
      assert.ok(candidates.size > 0);
      for (const candidate of candidates) {
        const result = await stack.tessera.authenticate(`tessera=${candidate}`);
        assert.equal(result.authenticated, false, `dump string ${candidate} works as a cookie`);
      }
      for (const id of ids) assert.equal(await sessionStatus(stack, `tessera=${id}`), 200, 'the sessions are still live');
    });

    test('the log names sessions by a short hash, records rejections, and never shows the id, the store key or a token', () => {
      const probe = fileURLToPath(new URL('./log-probe.ts', import.meta.url));
      const run = spawnSync(process.execPath, ['--import', 'tsx', probe], {
        encoding: 'utf8',
        env: { ...process.env, TESSERA_LOG_LEVEL: 'debug' },
        timeout: 60_000,
      });
      assert.equal(run.status, 0, run.stderr);
      const secrets = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { id: string; key: string; accessToken: string; idToken: string };
      const lines = run.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      const created = lines.find((l) => l.msg === 'session created');
      const ended = lines.find((l) => l.msg === 'session ended');
      assert.ok(created && ended, 'session events are logged');
      for (const line of [created, ended]) assert.match(String(line.session), /^[A-Za-z0-9_-]{22}$/);
      const warned = (msg: string) => lines.some((l) => l.level === 'warn' && String(l.msg).startsWith(msg));
      assert.ok(warned('identity provider logout failed'), 'the failed IdP logout is logged');
      assert.ok(warned('callback rejected'), 'the forged callback is logged');
      assert.ok(warned('logout refused'), 'the cross-origin logout is logged');
      assert.ok(warned('back-channel logout token rejected'), 'the defective logout token is logged');
      for (const [name, secret] of Object.entries(secrets)) {
        assert.ok(secret.length > 20);
        assert.ok(!run.stderr.includes(secret), `the log shows the ${name}`);
        assert.ok(!run.stderr.includes(secret.slice(0, 22)), `the log shows a prefix of the ${name}`);
      }
    });
  });

  describe('cookie attributes and size', () => {
    test('on plain-http development the cookie is tessera, HttpOnly, SameSite=Lax, Path=/, no Domain, no expiry', async () => {
      const browser = stack.browser();
      const callback = await loginUntilCallback(stack, browser);
      const response = await browser.request(callback.href);
      const session = response.headers.getSetCookie().find((c) => c.startsWith('tessera='))!;
      assert.match(session, /^tessera=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
      assert.equal(response.headers.get('cache-control'), 'no-store');
    });

    test('every response that sets or clears a Tessera cookie is no-store', async () => {
      const browser = stack.browser();
      const id = await signIn(stack, browser);
      const responses = [
        await fetch(`${stack.url}/auth/login?returnTo=/`, { redirect: 'manual' }),
        await fetch(`${stack.url}/auth/session`, { headers: { cookie: `tessera=${newSessionId()}` } }),
        await fetch(`${stack.url}/page`, { headers: { cookie: `tessera=${newSessionId()}` }, redirect: 'manual' }),
        await fetch(`${stack.url}/page`, { headers: { cookie: 'tessera=bad', accept: 'application/json' } }),
        await fetch(`${stack.url}/auth/logout`, { method: 'POST', headers: { cookie: `tessera=${id}`, origin: stack.url }, redirect: 'manual' }),
      ];
      for (const response of responses) {
        assert.ok(response.headers.getSetCookie().length > 0, `${response.url} sets a cookie`);
        assert.equal(response.headers.get('cache-control'), 'no-store', response.url);
        await response.body?.cancel();
      }
    });

    test('the session cookie is far under 4096 bytes, and so is every cookie of the login', async () => {
      const browser = stack.browser();
      const login = await browser.request(`${stack.url}/auth/login?returnTo=${encodeURIComponent(`/${'a'.repeat(2000)}`)}`);
      for (const cookie of login.headers.getSetCookie()) assert.ok(Buffer.byteLength(cookie) < 4096, `${Buffer.byteLength(cookie)} bytes`);
      const callback = await browser.signIn(login.headers.get('location')!, { username: 'alice', password: 'alice', stopAt: atCallback });
      const response = await browser.request(callback.url);
      const session = response.headers.getSetCookie().find((c) => c.startsWith('tessera='))!;
      assert.ok(Buffer.byteLength(session.split(';')[0]!) <= 64, session);
      for (const cookie of response.headers.getSetCookie()) assert.ok(Buffer.byteLength(cookie) < 4096);
    });
  });

  describe('idle and absolute timeouts enforced on the server', () => {
    test('an idle session expires on the server and its cookie then answers 401', async () => {
      const idle = await startStack({ idp, options: { idleTimeout: '1s', absoluteTimeout: '1h' } });
      try {
        const id = await signIn(idle, idle.browser());
        assert.equal(await sessionStatus(idle, `tessera=${id}`), 200);
        await sleep(1300);
        const result = await idle.tessera.authenticate(`tessera=${id}`);
        assert.equal(!result.authenticated && result.reason, 'idle_timeout');
        assert.equal(await sessionStatus(idle, `tessera=${id}`), 401);
        assert.equal(await internalsOf(idle.tessera).store.get(sha256(id)), undefined, 'the expired session is deleted');
      } finally {
        await idle.close();
      }
    });

    test('a session in use stays alive past a short idle timeout', async () => {
      const timed = await startStack({ idp, options: { idleTimeout: '1m', absoluteTimeout: '1h' } });
      try {
        const cookie = `tessera=${await signIn(timed, timed.browser())}`;
        const start = Date.now();
        // A request every 25 s: never idle for a minute.
        for (const at of [25, 50, 75, 100, 125]) {
          const result = await internalsOf(timed.tessera).sessions.authenticate(cookie, start + at * 1000);
          assert.equal(result.authenticated, true, `active at ${at} s`);
        }
        const idle = await internalsOf(timed.tessera).sessions.authenticate(cookie, start + 190_000);
        assert.equal(!idle.authenticated && idle.reason, 'idle_timeout', 'a minute after the last request it is idle');
      } finally {
        await timed.close();
      }
    });

    test('activity extends the idle timeout but never past the absolute timeout', async () => {
      const timed = await startStack({ idp, options: { idleTimeout: '30m', absoluteTimeout: '1h' } });
      try {
        const id = await signIn(timed, timed.browser());
        const cookie = `tessera=${id}`;
        const start = Date.now();
        const min = 60_000;
        for (const at of [20, 40, 55]) {
          const result = await internalsOf(timed.tessera).sessions.authenticate(cookie, start + at * min);
          assert.equal(result.authenticated, true, `active at ${at} min`);
        }
        const late = await internalsOf(timed.tessera).sessions.authenticate(cookie, start + 61 * min);
        assert.equal(!late.authenticated && late.reason, 'absolute_timeout');
        assert.equal(await sessionStatus(timed, cookie), 401, 'the replayed cookie answers 401');

        const quiet = await signIn(timed, timed.browser());
        const idle = await internalsOf(timed.tessera).sessions.authenticate(`tessera=${quiet}`, Date.now() + 31 * min);
        assert.equal(!idle.authenticated && idle.reason, 'idle_timeout');
        assert.equal(await sessionStatus(timed, `tessera=${quiet}`), 401);
      } finally {
        await timed.close();
      }
    });
  });

  describe('logout, revocation, back-channel logout and timeouts make a replayed cookie answer 401', () => {
    test('after logout a replayed cookie answers 401', async () => {
      const browser = stack.browser();
      const id = await signIn(stack, browser);
      const logout = await browser.request(`${stack.url}/auth/logout`, { method: 'POST', headers: { origin: stack.url } });
      assert.equal(logout.status, 303);
      assert.equal(await sessionStatus(stack, `tessera=${id}`), 401);
      const seen = stack.upstream.requests.length;
      const page = await stack.browser().request(`${stack.url}/page`, { headers: { cookie: `tessera=${id}` } });
      assert.equal(page.status, 302, 'a page request is sent to login');
      assert.equal(stack.upstream.requests.length, seen);
    });

    test('after the admin revokes one session its replayed cookie answers 401, the other session lives on', async () => {
      const browser = stack.browser();
      const page = await stack.login(browser, { username: 'bob' });
      const id = stack.sessionCookie(browser)!;
      const other = await signIn(stack, stack.browser(), { username: 'bob' });
      const response = await fetch(`${stack.url}/auth/admin/users/bob/sessions/${upstreamRef(page)}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } });
      assert.equal(response.status, 200);
      assert.equal(await sessionStatus(stack, `tessera=${id}`), 401);
      assert.equal(await sessionStatus(stack, `tessera=${other}`), 200);
    });

    test("after the admin revokes all of a user's sessions every replayed cookie answers 401", async () => {
      const ids = [await signIn(stack, stack.browser(), { username: 'bob' }), await signIn(stack, stack.browser(), { username: 'bob' })];
      const alice = await signIn(stack, stack.browser());
      const response = await fetch(`${stack.url}/auth/admin/users/bob/sessions`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } });
      assert.equal(response.status, 200);
      assert.ok(((await response.json()) as { revoked: number }).revoked >= 2);
      for (const id of ids) assert.equal(await sessionStatus(stack, `tessera=${id}`), 401);
      assert.equal(await sessionStatus(stack, `tessera=${alice}`), 200);
    });

    test('after a gateway restart a revoked session stays revoked and a live one stays live', async () => {
      const revoked = await signIn(stack, stack.browser());
      const live = await signIn(stack, stack.browser(), { username: 'bob' });
      await internalsOf(stack.tessera).sessions.revoke(sha256(revoked));
      await stack.restart();
      assert.equal(await sessionStatus(stack, `tessera=${revoked}`), 401);
      assert.equal(await sessionStatus(stack, `tessera=${live}`), 200);
    });
  });
});
