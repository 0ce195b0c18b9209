/**
 * SECURITY.md, "Routes, step-up and live connections": the configured `acr_values` is a floor
 * (a login parameter can raise it, never lower it, silent renewal included); a callback whose ID
 * token does not satisfy the requested `acr` creates no session and leaves the browser's current
 * one alone; the upstream learns `acr` and `amr`. Against the real stack (dev IdP, gateway,
 * SQLite), with the dev IdP's MFA step (`acr_values=mfa` → one-time code 123456).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as fc from 'fast-check';
import { startDevIdp, type DevIdp } from '../../src/dev-idp/index.js';
import { parseForms, type Browser, type Page } from '../helpers/browser.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { atCallback, sessionStatus, signIn } from './support.js';
import { internalsOf } from '../../src/tessera.js';

const OTP = '123456';

/** Where `/auth/login?<query>` sends the browser (the authorization request to the IdP). */
async function authorizationFor(stack: Stack, query: string, cookie?: string): Promise<URL> {
  const response = await fetch(`${stack.url}/auth/login?${query}`, { redirect: 'manual', headers: cookie ? { cookie } : {} });
  await response.body?.cancel();
  assert.equal(response.status, 302, query);
  return new URL(response.headers.get('location')!);
}

/** What `/auth/session` says about a browser's session. */
async function sessionOf(stack: Stack, browser: Browser): Promise<{ acr: string | null; amr: string[] }> {
  const response = await fetch(`${stack.url}/auth/session`, { headers: { cookie: browser.jar.header(stack.url), accept: 'application/json' } });
  assert.equal(response.status, 200);
  return await response.json() as { acr: string | null; amr: string[] };
}

const hasOtpForm = (page: Page) => parseForms(page.text, page.url).some((f) => 'otp' in f.fields);

/**
 * The attack: start a login at Tessera, edit the authorization request on its way to the IdP
 * (`edit`), sign in there with the password only, and stop before the callback. Returns the
 * callback URL the IdP sent the browser to.
 */
async function tamperedLogin(stack: Stack, browser: Browser, query: string, edit: (authorize: URL) => void, username = 'bob'): Promise<URL> {
  const start = await browser.request(`${stack.url}/auth/login?${query}`);
  assert.equal(start.status, 302);
  const authorize = new URL(start.headers.get('location')!);
  edit(authorize);
  // A fresh IdP login, so the IdP cannot answer from an MFA session it may already have.
  authorize.searchParams.set('prompt', 'login');
  const page = await browser.signIn(authorize.href, { username, password: username, stopAt: atCallback });
  assert.ok(page.stopped, `the IdP finished the password-only login without asking for more (${page.status} ${page.url})`);
  return new URL(page.url);
}

/** Follows the callback as an API client would, to read the JSON problem. */
async function completeCallback(browser: Browser, callbackUrl: URL): Promise<{ page: Page; body: { error?: string; error_description?: string } }> {
  const page = await browser.request(callbackUrl.href, { headers: { accept: 'application/json' } });
  let body = {};
  try { body = JSON.parse(page.text) as object; } catch { /* not JSON: the assertions on status say enough */ }
  return { page, body };
}

const sessionsOf = async (stack: Stack, sub: string) => (await internalsOf(stack.tessera).store.listByUser(sub)).length;

describe('acr floor', () => {
  let idpDir: string;
  let idp: DevIdp;
  /** TESSERA_ACR_VALUES=mfa */
  let floored: Stack;
  /** No floor configured. */
  let open: Stack;

  before(async () => {
    idpDir = mkdtempSync(join(tmpdir(), 'tessera-acr-idp-'));
    idp = await startDevIdp({ port: 0, dataDir: idpDir, quiet: true });
    floored = await startStack({ idp, options: { acrValues: 'mfa' } });
    open = await startStack({ idp });
  });
  after(async () => {
    await floored.close();
    await open.close();
    await idp.close();
    rmSync(idpDir, { recursive: true, force: true });
  });

  describe('the configured acr_values is a floor a login parameter cannot lower', () => {
    const weaker = [
      'acr=', 'acr=pwd', 'acr=%20', 'acr=+', 'acr=%09', 'acr=MFA', 'acr=Mfa', 'acr=mfA', 'acr=PWD', 'acr=%20mfa%20pwd',
      'acr=pwd%20mfa', 'acr=mfa%20pwd', 'acr=pwd&acr=mfa', 'acr=mfa&acr=pwd', 'acr=mfa%09', 'acr=%6Dfa%0A', 'acr=none',
      'acr=pwd&silent=1', 'acr=&silent=1', 'silent=1', '',
    ];
    test('?acr= empty, pwd, blank, other case, lists, repeats and junk: the authorization request still asks for mfa', async () => {
      for (const query of weaker) {
        const authorize = await authorizationFor(floored, `returnTo=%2F&${query}`);
        assert.equal(authorize.searchParams.get('acr_values'), 'mfa', `/auth/login?${query}`);
        assert.equal(authorize.searchParams.getAll('acr_values').length, 1, query);
      }
    });

    test('?acr=pwd and ?acr=%20 still end in an MFA login: the IdP asks for the code and the session records acr mfa', async () => {
      for (const acr of ['pwd', ' ']) {
        const browser = floored.browser();
        const query = new URLSearchParams({ returnTo: '/', acr });
        const asked = await browser.signIn(`${floored.url}/auth/login?${query}`, { username: 'alice', password: 'alice' });
        assert.ok(hasOtpForm(asked), `acr=${JSON.stringify(acr)}: the password alone must not finish the login`);
        const done = await browser.submit(asked, { otp: OTP });
        assert.equal(done.status, 200);
        const session = await sessionOf(floored, browser);
        assert.equal(session.acr, 'mfa');
        assert.ok(session.amr.includes('mfa'));
      }
    });

    test('silent renewal keeps the floor: prompt=none with ?acr=pwd asks for mfa and renews into an mfa session', async () => {
      const browser = floored.browser();
      await signIn(floored, browser, { otp: OTP });
      const authorize = await authorizationFor(floored, 'returnTo=%2F&silent=1&acr=pwd', browser.jar.header(floored.url));
      assert.equal(authorize.searchParams.get('prompt'), 'none');
      assert.equal(authorize.searchParams.get('acr_values'), 'mfa');
      // The gateway's own renewal URL: a silent login asks for mfa and lands in an mfa session.
      const page = await browser.navigate(`${floored.url}${floored.tessera.loginUrl('/', true)}&acr=pwd`);
      assert.equal(page.status, 200);
      assert.equal((await sessionOf(floored, browser)).acr, 'mfa');
    });

    test('whatever the acr parameter looks like, the acr_values sent always satisfies the floor (property)', async () => {
      const piece = fc.constantFrom(
        'mfa', 'MFA', 'Mfa', 'mfA', 'pwd', 'PWD', 'none', '0', 'urn:x', 'mfa.', '', ' ', '  ', '+', '%20', '\t', '%09', '%0A', '%0D', '%00',
        '%6D', '%6d', 'fa', 'm', '%2B', '%25', '%', '&', '=', ';', ',', '%2C', '&acr=', '&acr=pwd', '&acr=mfa', '&silent=1', '#', '\u00a0', '%C2%A0',
      );
      const acrParameter = fc.array(piece, { maxLength: 8 }).map((parts) => parts.join(''));
      await fc.assert(fc.asyncProperty(fc.array(acrParameter, { minLength: 1, maxLength: 3 }), fc.boolean(), async (values, silent) => {
        const raw = values.map((v) => `acr=${v.replaceAll('#', '%23').replaceAll('\t', '%09').replaceAll('\u00a0', '%C2%A0').replaceAll(' ', '%20')}`).join('&');
        const authorize = await authorizationFor(floored, `returnTo=%2F${silent ? '&silent=1' : ''}&${raw}`);
        const sent = authorize.searchParams.getAll('acr_values');
        assert.equal(sent.length, 1, `acr_values missing or repeated for ${raw}`);
        const list = sent[0]!.split(' ');
        // Under the floor mfa only mfa itself satisfies it (pwd ranks lower; anything else is opaque).
        assert.ok(list.length > 0 && list.every((v) => v === 'mfa'), `${raw} → acr_values=${sent[0]}`);
      }), { numRuns: 150 });
    });

    test('with no floor, ?acr=mfa steps up: the IdP asks for the code and the session records acr mfa', async () => {
      const browser = open.browser();
      const authorize = await authorizationFor(open, 'returnTo=%2F&acr=mfa');
      assert.equal(authorize.searchParams.get('acr_values'), 'mfa');
      const page = await open.login(browser, { acr: 'mfa', otp: OTP });
      assert.equal(page.status, 200);
      assert.equal((await sessionOf(open, browser)).acr, 'mfa');
    });
  });

  describe('a callback whose ID token does not satisfy the requested acr creates no session', () => {
    test('floor mfa, acr_values edited to pwd on the way to the IdP: 403 insufficient_acr, no session, the existing one untouched', async () => {
      const browser = floored.browser();
      const existing = await signIn(floored, browser, { username: 'bob', otp: OTP });
      const before = await sessionsOf(floored, 'bob');
      const callbackUrl = await tamperedLogin(floored, browser, 'returnTo=%2F', (a) => a.searchParams.set('acr_values', 'pwd'));
      const { page, body } = await completeCallback(browser, callbackUrl);
      assert.equal(page.status, 403, page.text);
      assert.equal(body.error, 'insufficient_acr');
      assert.match(body.error_description ?? '', /"mfa"/, 'names the acr that was required');
      assert.match(body.error_description ?? '', /"pwd"/, 'names the acr that came back');
      assert.ok(!page.headers.getSetCookie().some((c) => c.startsWith(`${floored.tessera.cookieName}=`)), 'no session cookie set or cleared');
      assert.equal(floored.sessionCookie(browser), existing);
      assert.equal(await sessionStatus(floored, `${floored.tessera.cookieName}=${existing}`), 200);
      assert.equal(await sessionsOf(floored, 'bob'), before);
    });

    test('floor mfa, acr_values removed on the way to the IdP: refused the same way, as an HTML page for a browser', async () => {
      const browser = floored.browser();
      const callbackUrl = await tamperedLogin(floored, browser, 'returnTo=%2F', (a) => a.searchParams.delete('acr_values'));
      const before = await sessionsOf(floored, 'bob');
      const page = await browser.navigate(callbackUrl.href);
      assert.equal(page.status, 403);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      assert.match(page.text, /Stronger sign-in required/);
      assert.match(page.text, /mfa/);
      assert.equal(floored.sessionCookie(browser), undefined);
      assert.equal(await sessionsOf(floored, 'bob'), before);
    });

    test('no floor, a step-up to mfa whose request was edited to pwd: refused, and the password-only session stays as it was', async () => {
      const browser = open.browser();
      const existing = await signIn(open, browser, { username: 'bob' });
      const before = await sessionsOf(open, 'bob');
      const callbackUrl = await tamperedLogin(open, browser, 'returnTo=%2F&acr=mfa', (a) => a.searchParams.set('acr_values', 'pwd'));
      const { page, body } = await completeCallback(browser, callbackUrl);
      assert.equal(page.status, 403, page.text);
      assert.equal(body.error, 'insufficient_acr');
      assert.equal(open.sessionCookie(browser), existing);
      assert.equal(await sessionStatus(open, `${open.tessera.cookieName}=${existing}`), 200);
      assert.equal(await sessionsOf(open, 'bob'), before);
    });

    test('the configured floor is checked on its own: a transaction that requested nothing is refused once the floor is mfa', async () => {
      const browser = open.browser();
      // Started before the floor was configured: the transaction carries no acr, the IdP issues pwd.
      const page = await browser.signIn(`${open.url}/auth/login?returnTo=%2F`, { username: 'bob', password: 'bob', stopAt: atCallback });
      assert.ok(page.stopped);
      const before = await sessionsOf(open, 'bob');
      await open.restart({ acrValues: 'mfa' });
      try {
        const { page: answer, body } = await completeCallback(browser, new URL(page.url));
        assert.equal(answer.status, 403, answer.text);
        assert.equal(body.error, 'insufficient_acr');
        assert.equal(open.sessionCookie(browser), undefined);
        assert.equal(await sessionsOf(open, 'bob'), before);
      } finally {
        await open.restart();
      }
    });
  });

  describe('the upstream learns acr and amr', () => {
    test('X-Tessera-Acr and X-Tessera-Amr (comma-separated) reach the upstream; client-sent ones do not', async () => {
      const browser = floored.browser();
      await signIn(floored, browser, { otp: OTP });
      const page = await browser.request(`${floored.url}/whoami`, { headers: { 'x-tessera-acr': 'forged', 'x-tessera-amr': 'forged' } });
      assert.equal(page.status, 200);
      const seen = (JSON.parse(page.text) as { headers: IncomingHttpHeaders }).headers;
      assert.equal(seen['x-tessera-acr'], 'mfa');
      const amr = String(seen['x-tessera-amr'] ?? '').split(',');
      assert.ok(amr.includes('pwd') && amr.includes('mfa'), `x-tessera-amr: ${String(seen['x-tessera-amr'])}`);
      const recorded = floored.upstream.requests.filter((r) => r.url === '/whoami').at(-1);
      assert.equal(recorded?.headers['x-tessera-acr'], 'mfa');
    });
  });
});
