/**
 * SECURITY.md, "Routes, step-up and live connections" — the login side of step-up (RFC 9470):
 * `/auth/login?returnTo=…&acr=…&max_age=…` asks the IdP for a stronger or a more recent sign-in,
 * the callback refuses an ID token whose `acr` or `auth_time` does not satisfy what was asked
 * (403, no session, the browser's current session untouched), and a step-up issues a new session
 * id carrying the new `acr`, `amr` and `auth_time` (DESIGN §2, `GET /auth/session` `authTime`).
 * Against the real stack (dev IdP on oidc-provider, gateway, SQLite); the dev IdP asks for the
 * one-time code 123456 when `acr_values=mfa`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDevIdp, type DevIdp } from '../../src/dev-idp/index.js';
import { parseKeyRing } from '../../src/keys/index.js';
import { maxReturnToBytes, newTransaction, TransactionCookies } from '../../src/oidc/transaction.js';
import { internalsOf } from '../../src/tessera.js';
import { DEFAULT_CLOCK_TOLERANCE } from '../../src/tokens/index.js';
import { isSelfSubmitting, parseForms, type Browser, type Page } from '../helpers/browser.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { atCallback, sessionStatus, signIn, sleep } from './support.js';

const OTP = '123456';

interface SessionInfo {
  sub: string;
  acr: string | null;
  amr: string[];
  authTime: string | null;
  session: { createdAt: string };
}

/** What `/auth/session` says about a session cookie (asserting it is signed in). */
async function sessionInfo(stack: Stack, browser: Browser): Promise<SessionInfo> {
  const response = await fetch(`${stack.url}/auth/session`, { headers: { cookie: browser.jar.header(stack.url), accept: 'application/json' } });
  assert.equal(response.status, 200);
  return await response.json() as SessionInfo;
}

/** `authTime` of `/auth/session` as epoch seconds (it must be there, ISO 8601, on a whole second). */
function authSeconds(info: SessionInfo): number {
  assert.equal(typeof info.authTime, 'string', `authTime: ${String(info.authTime)}`);
  assert.match(info.authTime!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
  return Date.parse(info.authTime!) / 1000;
}

/** Where `/auth/login?<query>` sends a browser: the authorization request and the transaction cookie set. */
async function startLogin(stack: Stack, query: string): Promise<{ authorize: URL; cookie: string }> {
  const response = await fetch(`${stack.url}/auth/login?${query}`, { redirect: 'manual' });
  await response.body?.cancel();
  assert.equal(response.status, 302, query);
  const cookie = response.headers.getSetCookie().map((c) => c.split(';')[0]!).join('; ');
  return { authorize: new URL(response.headers.get('location')!), cookie };
}

const forms = (page: Page) => parseForms(page.text, page.url);
const hasOtpForm = (page: Page) => forms(page).some((f) => 'otp' in f.fields);
const hasPasswordForm = (page: Page) => forms(page).some((f) => 'password' in f.fields);

/** Submits the self-submitting forms (consent, form_post) until a page of its own. */
async function settle(browser: Browser, page: Page, stopAt?: (url: URL) => boolean): Promise<Page> {
  for (let i = 0; i < 5 && !page.stopped && isSelfSubmitting(page); i += 1) page = await browser.submit(page, {}, { stopAt });
  return page;
}

/** Follows the callback as an API client would, to read the JSON problem. */
async function completeCallback(browser: Browser, callbackUrl: string): Promise<{ page: Page; body: { error?: string; error_description?: string } }> {
  const page = await browser.request(callbackUrl, { headers: { accept: 'application/json' } });
  let body = {};
  try { body = JSON.parse(page.text) as object; } catch { /* not JSON: the status assertions say enough */ }
  return { page, body };
}

/**
 * Starts a login at Tessera in `browser`, edits the authorization request on its way to the IdP
 * (`edit`) and lets the IdP answer from the browser's IdP session (no form to fill): the callback
 * URL it sent the browser to.
 */
async function tamperedRelogin(stack: Stack, browser: Browser, query: string, edit: (authorize: URL) => void): Promise<string> {
  const start = await browser.request(`${stack.url}/auth/login?${query}`);
  assert.equal(start.status, 302);
  const authorize = new URL(start.headers.get('location')!);
  edit(authorize);
  const page = await settle(browser, await browser.navigate(authorize.href, { stopAt: atCallback }), atCallback);
  assert.ok(page.stopped, `the IdP asked for something instead of answering from its session (${page.status} ${page.url})`);
  return page.url;
}

const sessionsOf = async (stack: Stack, sub: string) => (await internalsOf(stack.tessera).store.listByUser(sub)).length;
const cookieSet = (stack: Stack, page: Page) => page.headers.getSetCookie().some((c) => c.startsWith(`${stack.tessera.cookieName}=`));
const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('step-up authentication (login side)', () => {
  let idpDir: string;
  let idp: DevIdp;
  let stack: Stack;
  /** Signed in with a password at the start, for the stale auth_time test at the end. */
  let early: { browser: Browser; cookie: string; signedInBy: number };

  before(async () => {
    idpDir = mkdtempSync(join(tmpdir(), 'tessera-step-up-idp-'));
    idp = await startDevIdp({ port: 0, dataDir: idpDir, quiet: true });
    stack = await startStack({ idp });
    const browser = stack.browser();
    const cookie = await signIn(stack, browser, { username: 'bob' });
    early = { browser, cookie, signedInBy: nowSeconds() };
  });
  after(async () => {
    await stack.close();
    await idp.close();
    rmSync(idpDir, { recursive: true, force: true });
  });

  describe('the max_age login parameter', () => {
    test('a whole number of seconds 0..31536000 is sent as max_age and kept in the transaction, beside acr', async () => {
      const transactions = new TransactionCookies(parseKeyRing(stack.keys), false);
      for (const [value, sent] of [['0', '0'], ['1', '1'], ['300', '300'], ['31536000', '31536000'], ['0300', '300']] as const) {
        const { authorize, cookie } = await startLogin(stack, `returnTo=%2Fpay&acr=mfa&max_age=${value}`);
        assert.equal(authorize.searchParams.get('max_age'), sent, `max_age=${value}`);
        assert.equal(authorize.searchParams.getAll('max_age').length, 1);
        assert.equal(authorize.searchParams.get('acr_values'), 'mfa');
        const txn = transactions.find(authorize.searchParams.get('state')!, cookie);
        assert.equal(txn?.maxAge, Number(sent));
        assert.deepEqual(txn?.acr, ['mfa']);
        assert.equal(txn?.returnTo, '/pay');
      }
    });

    test('anything else is ignored: no max_age is sent and the transaction has none', async () => {
      const transactions = new TransactionCookies(parseKeyRing(stack.keys), false);
      const ignored = [
        'max_age=', 'max_age=-1', 'max_age=%2B5', 'max_age=%205', 'max_age=5%20', 'max_age=1.5', 'max_age=1e3', 'max_age=0x10',
        'max_age=31536001', 'max_age=99999999', 'max_age=123456789', 'max_age=abc', 'max_age=%EF%BC%95', 'max_age=5&max_age=5',
        'max_age=5&max_age=6', 'max_age', 'MAX_AGE=5', 'max-age=5', 'maxAge=5',
      ];
      for (const query of ignored) {
        const { authorize, cookie } = await startLogin(stack, `returnTo=%2F&${query}`);
        assert.equal(authorize.searchParams.has('max_age'), false, `${query} → max_age=${authorize.searchParams.get('max_age')}`);
        const txn = transactions.find(authorize.searchParams.get('state')!, cookie);
        assert.ok(txn, query);
        assert.equal('maxAge' in txn, false, query);
      }
    });

    test('the transaction cookie stays within 4096 bytes with the longest returnTo, acr list and max_age', () => {
      const transactions = new TransactionCookies(parseKeyRing(stack.keys), true);
      const acr = Array.from({ length: 8 }, (_, i) => `${i}`.padEnd(64, 'x'));
      const returnTo = `/${'a'.repeat(maxReturnToBytes - 1)}`;
      const txn = newTransaction(returnTo, true, Date.now(), acr, 31_536_000);
      const [cookie] = transactions.begin(txn, undefined);
      assert.ok(Buffer.byteLength(cookie!) <= 4096, `${Buffer.byteLength(cookie!)} bytes`);
      const opened = transactions.find(txn.state, cookie!.split(';')[0]!);
      assert.equal(opened?.maxAge, 31_536_000);
      assert.equal(opened?.returnTo, returnTo, 'the longest returnTo still fits beside max_age');
      assert.throws(() => newTransaction('/', false, Date.now(), undefined, 31_536_001), TypeError);
      assert.throws(() => newTransaction('/', false, Date.now(), undefined, 1.5), TypeError);
    });

    test('a silent login with max_age that the IdP answers login_required falls back to an interactive one with the same acr and max_age', async () => {
      const browser = stack.browser(); // no IdP session
      const interactive = (u: URL) => u.pathname === '/auth/login' && u.searchParams.get('silent') !== '1';
      const page = await browser.navigate(`${stack.url}/auth/login?returnTo=%2Fpay&silent=1&acr=mfa&max_age=60`, { stopAt: interactive });
      assert.ok(page.stopped, `${page.status} ${page.url}`);
      const next = new URL(page.url);
      assert.equal(next.searchParams.get('returnTo'), '/pay');
      assert.equal(next.searchParams.get('acr'), 'mfa');
      assert.equal(next.searchParams.get('max_age'), '60');
    });
  });

  test('step-up from a password sign-in to mfa: OTP step only, a new session id, the old cookie dead, acr/amr/authTime new, the upstream told', async () => {
    const browser = stack.browser();
    const old = await signIn(stack, browser, { username: 'alice' });
    const before = await sessionInfo(stack, browser);
    assert.equal(before.acr, 'pwd');
    const beforeAuth = authSeconds(before);
    assert.ok(Math.abs(beforeAuth - nowSeconds()) <= 5, 'authTime is the password sign-in just now');
    const sessions = await sessionsOf(stack, 'alice');
    await sleep(1100); // auth_time has whole seconds: the step-up's must be later

    const asked = await browser.navigate(`${stack.url}/auth/login?returnTo=%2Fpay&acr=mfa`);
    assert.ok(hasOtpForm(asked), `the IdP asks for the second factor (${asked.status} ${asked.url})`);
    assert.ok(!hasPasswordForm(asked), 'and not for the password again');
    const landed = await settle(browser, await browser.submit(asked, { otp: OTP }));
    assert.equal(landed.status, 200);
    assert.equal(new URL(landed.url).pathname, '/pay');

    const fresh = stack.sessionCookie(browser);
    assert.ok(fresh !== undefined && fresh !== old, 'a new session id');
    assert.equal(await sessionStatus(stack, `${stack.tessera.cookieName}=${old}`), 401, 'the old cookie answers 401');
    const after = await sessionInfo(stack, browser);
    assert.equal(after.acr, 'mfa');
    assert.ok(after.amr.includes('mfa'), `amr: ${after.amr.join(',')}`);
    const afterAuth = authSeconds(after);
    assert.ok(afterAuth > beforeAuth, `authTime moved on: ${before.authTime} → ${after.authTime}`);
    assert.ok(Math.abs(afterAuth - nowSeconds()) <= 5, 'authTime is the step-up just now');
    assert.equal(await sessionsOf(stack, 'alice'), sessions, 'the old session was replaced, not kept beside the new one');

    const seen = (JSON.parse(landed.text) as { headers: IncomingHttpHeaders }).headers;
    assert.equal(seen['x-tessera-acr'], 'mfa');
    assert.ok(String(seen['x-tessera-amr']).split(',').includes('mfa'));
    const upstream = stack.upstream.requests.filter((r) => r.url === '/pay').at(-1);
    assert.equal(upstream?.headers['x-tessera-acr'], 'mfa');
  });

  test('max_age=0 makes the IdP authenticate again (password form, though its session is alive) and the new session has the new authTime', async () => {
    const browser = stack.browser();
    const old = await signIn(stack, browser, { username: 'alice' });
    const beforeAuth = authSeconds(await sessionInfo(stack, browser));
    await sleep(1100); // oidc-provider counts whole seconds: an IdP login this second is still "0 seconds old"

    // Without max_age the IdP answers from its session, with no form at all.
    const reused = await settle(browser, await browser.navigate(`${stack.url}/auth/login?returnTo=%2F`, { stopAt: atCallback }), atCallback);
    assert.ok(reused.stopped, 'without max_age the IdP session is reused');
    const asked = await browser.navigate(`${stack.url}/auth/login?returnTo=%2F&max_age=0`);
    assert.ok(hasPasswordForm(asked), `with max_age=0 the IdP asks for the password again (${asked.status} ${asked.url})`);
    const landed = await settle(browser, await browser.submit(asked, { username: 'alice', password: 'alice' }));
    assert.equal(landed.status, 200);

    const fresh = stack.sessionCookie(browser);
    assert.ok(fresh !== undefined && fresh !== old);
    assert.equal(await sessionStatus(stack, `${stack.tessera.cookieName}=${old}`), 401);
    const after = await sessionInfo(stack, browser);
    assert.ok(authSeconds(after) > beforeAuth, `${after.authTime} is after the first sign-in`);
    assert.ok(Math.abs(authSeconds(after) - nowSeconds()) <= 5);
  });

  test('a failed step-up (acr_values edited to pwd on the way): 403 insufficient_acr, no session created, the old one as it was', async () => {
    const browser = stack.browser();
    const old = await signIn(stack, browser, { username: 'bob' });
    const before = await sessionInfo(stack, browser);
    authSeconds(before);
    const sessions = await sessionsOf(stack, 'bob');
    const callbackUrl = await tamperedRelogin(stack, browser, 'returnTo=%2Fpay&acr=mfa&max_age=300', (a) => a.searchParams.set('acr_values', 'pwd'));
    const { page, body } = await completeCallback(browser, callbackUrl);
    assert.equal(page.status, 403, page.text);
    assert.equal(body.error, 'insufficient_acr');
    assert.ok(!cookieSet(stack, page), 'no session cookie set or cleared');
    assert.equal(stack.sessionCookie(browser), old);
    assert.equal(await sessionsOf(stack, 'bob'), sessions);
    assert.deepEqual(await sessionInfo(stack, browser), before, 'acr, amr, authTime and times unchanged');
  });

  test('authTime is stored: it survives a gateway restart (SQLite) and is the record\'s epoch seconds', async () => {
    const browser = stack.browser();
    await signIn(stack, browser, { username: 'alice', acr: 'mfa', otp: OTP });
    const before = await sessionInfo(stack, browser);
    const seconds = authSeconds(before);
    await stack.restart();
    const after = await sessionInfo(stack, browser);
    assert.equal(after.authTime, before.authTime);
    assert.equal(after.acr, 'mfa');
    const records = (await internalsOf(stack.tessera).store.listByUser(before.sub)).map(({ record }) => record);
    assert.ok(records.some((r) => r.authTime === seconds && r.acr === 'mfa'), `records: ${JSON.stringify(records.map((r) => r.authTime))}`);
    const listed = await stack.tessera.sessions.list(before.sub);
    assert.ok(listed.some((s) => s.authTime === seconds));
  });

  test('an ID token whose auth_time is older than max_age allows (max_age dropped on the way, the IdP session reused): 403 stale_authentication, no session', async () => {
    const { browser, cookie: existing } = early;
    const maxAge = 1;
    // Past max_age and the clock tolerance the ID token check allows on top.
    const wait = (early.signedInBy + maxAge + DEFAULT_CLOCK_TOLERANCE + 2) * 1000 - Date.now();
    if (wait > 0) await sleep(wait);
    const before = await sessionInfo(stack, browser);
    const authTime = authSeconds(before);
    assert.ok(authTime <= early.signedInBy);
    const sessions = await sessionsOf(stack, 'bob');

    const callbackUrl = await tamperedRelogin(stack, browser, `returnTo=%2Fpay&max_age=${maxAge}`, (a) => a.searchParams.delete('max_age'));
    const { page, body } = await completeCallback(browser, callbackUrl);
    assert.equal(page.status, 403, page.text);
    assert.equal(body.error, 'stale_authentication');
    assert.match(body.error_description ?? '', /within the last 1 seconds/);
    assert.match(page.headers.get('cache-control') ?? '', /no-store/);
    assert.ok(!cookieSet(stack, page), 'no session cookie set or cleared');
    assert.equal(stack.sessionCookie(browser), existing);
    assert.equal(await sessionStatus(stack, `${stack.tessera.cookieName}=${existing}`), 200);
    assert.equal(await sessionsOf(stack, 'bob'), sessions);
    assert.deepEqual(await sessionInfo(stack, browser), before);

    // The same, as a page for a browser.
    const again = await tamperedRelogin(stack, browser, `returnTo=%2F&max_age=${maxAge}`, (a) => a.searchParams.delete('max_age'));
    const html = await browser.navigate(again);
    assert.equal(html.status, 403);
    assert.match(html.headers.get('content-type') ?? '', /text\/html/);
    assert.match(html.text, /Fresh sign-in required/);
    assert.equal(stack.sessionCookie(browser), existing);

    // Not tampered with, the same login makes the IdP ask again and succeeds.
    const asked = await browser.navigate(`${stack.url}/auth/login?returnTo=%2F&max_age=${maxAge}`);
    assert.ok(hasPasswordForm(asked));
    const landed = await settle(browser, await browser.submit(asked, { username: 'bob', password: 'bob' }));
    assert.equal(landed.status, 200);
    assert.notEqual(stack.sessionCookie(browser), existing);
    assert.ok(authSeconds(await sessionInfo(stack, browser)) > authTime);
  });
});
