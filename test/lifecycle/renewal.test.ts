import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { Browser, parseForms } from '../helpers/browser.js';
import { startStack, type Stack } from '../helpers/stack.js';

/** A browser that has only the gateway's session cookie, not the IdP's session. */
function withOnlySessionCookie(stack: Stack, from: Browser): Browser {
  const browser = new Browser();
  browser.jar.store(stack.url, new Headers({ 'set-cookie': `tessera=${stack.sessionCookie(from)}; Path=/` }));
  return browser;
}

describe('extending access when the access token expires', () => {
  let stack: Stack;
  before(async () => { stack = await startStack({ accessTokenTtl: 2 }); });
  after(async () => { await stack.close(); });

  test('an expired access token leads to silent re-authentication with a new session id; the old cookie is dead', async () => {
    const browser = stack.browser();
    await stack.login(browser, { returnTo: '/start' });
    const first = stack.sessionCookie(browser)!;
    assert.equal((await browser.request(`${stack.url}/start`)).status, 200);
    await sleep(2100);

    const expired = await browser.request(`${stack.url}/later?x=1`);
    assert.equal(expired.status, 302);
    assert.equal(expired.headers.get('location'), '/auth/login?returnTo=%2Flater%3Fx%3D1&silent=1');
    assert.ok(expired.headers.getSetCookie().some((c) => /^tessera=;.*Max-Age=0/.test(c)), 'cookie cleared');

    const silent = await browser.request(`${stack.url}${expired.headers.get('location')}`);
    assert.match(silent.headers.get('location') ?? '', /prompt=none/);
    const renewed = await browser.navigate(`${stack.url}${expired.headers.get('location')}`);
    assert.equal(renewed.status, 200);
    assert.equal(renewed.url, `${stack.url}/later?x=1`);
    const second = stack.sessionCookie(browser)!;
    assert.notEqual(second, first);
    assert.match(second, /^[A-Za-z0-9_-]{43}$/);

    const replay = await fetch(`${stack.url}/auth/session`, { headers: { cookie: `tessera=${first}` } });
    assert.equal(replay.status, 401);
  });

  test('an API request with an expired access token gets 401 JSON and the session is gone', async () => {
    const browser = stack.browser();
    await stack.login(browser);
    const cookie = stack.sessionCookie(browser)!;
    await sleep(2100);
    const response = await fetch(`${stack.url}/api/x`, { headers: { cookie: `tessera=${cookie}`, accept: 'application/json' } });
    assert.equal(response.status, 401);
    assert.deepEqual(await response.json(), { error: 'login_required', login_url: '/auth/login?returnTo=%2Fapi%2Fx&silent=1' });
    assert.equal((await fetch(`${stack.url}/auth/session`, { headers: { cookie: `tessera=${cookie}` } })).status, 401);
  });

  test('without an IdP session, silent renewal falls back to the interactive login form, never a loop', async () => {
    const signedIn = stack.browser();
    await stack.login(signedIn);
    const browser = withOnlySessionCookie(stack, signedIn);
    await sleep(2100);
    const page = await browser.navigate(`${stack.url}/dashboard`);
    assert.equal(page.status, 200);
    assert.ok(page.url.startsWith(stack.idp.url), `ends at the IdP, not ${page.url}`);
    assert.ok(parseForms(page.text, page.url).some((f) => 'password' in f.fields), 'the login form is shown');
    const next = await browser.signIn(page.url, { username: 'alice', password: 'alice' });
    assert.equal(next.url, `${stack.url}/dashboard`);
  });

  test('with silent authentication off, an expired token goes straight to the interactive login', async () => {
    await stack.restart({ silentAuth: false });
    try {
      const browser = stack.browser();
      await stack.login(browser);
      await sleep(2100);
      const page = await browser.request(`${stack.url}/x`);
      assert.equal(page.headers.get('location'), '/auth/login?returnTo=%2Fx');
    } finally {
      await stack.restart();
    }
  });
});

describe('sessions across a restart', () => {
  let stack: Stack;
  before(async () => { stack = await startStack(); });
  after(async () => { await stack.close(); });

  test('a session survives a gateway restart on SQLite', async () => {
    const browser = stack.browser();
    await stack.login(browser);
    await stack.restart();
    const page = await browser.request(`${stack.url}/after-restart`);
    assert.equal(page.status, 200);
    assert.equal((JSON.parse(page.text) as { headers: Record<string, string> }).headers['x-tessera-sub'], 'alice');
  });

  test('after a key rotation (new key first, old kept) the tokens of existing sessions still unseal', async () => {
    const browser = stack.browser();
    await stack.login(browser);
    const { generateKeyEntry } = await import('../../src/keys/index.js');
    await stack.restart({ keys: `${generateKeyEntry()},${stack.keys}`, tokenRelay: true });
    const page = await browser.request(`${stack.url}/relay`);
    assert.match((JSON.parse(page.text) as { headers: Record<string, string> }).headers.authorization ?? '', /^Bearer /);
    await stack.restart();
  });
});

describe('step-up and logout', () => {
  let stack: Stack;
  before(async () => { stack = await startStack(); });
  after(async () => { await stack.close(); });

  test('a login with acr=mfa goes through the one-time code and the session records acr and amr', async () => {
    const browser = stack.browser();
    const page = await stack.login(browser, { acr: 'mfa', otp: '123456' });
    assert.equal(page.status, 200);
    const session = await (await fetch(`${stack.url}/auth/session`, { headers: { cookie: browser.jar.header(stack.url) } })).json();
    assert.equal(session.acr, 'mfa');
    assert.ok(session.amr.includes('mfa'));
    assert.ok(session.amr.includes('pwd'));
  });

  test('sign out: the session is deleted, the cookie cleared, the IdP session ended, and the next visit needs the password', async () => {
    const browser = stack.browser();
    await stack.login(browser);
    const cookie = stack.sessionCookie(browser)!;
    const form = await browser.request(`${stack.url}/auth/logout`);
    assert.equal(form.status, 200);
    const out = await browser.submit(form, {}, { headers: { origin: stack.url } });
    assert.equal(out.url, `${stack.url}/auth/signed-out?idp=ended`, 'on the signed-out page');
    assert.match(out.text, /You are signed out/);
    assert.match(out.text, /also signed out at the identity provider/);
    assert.match(out.text, /Sign in again/);
    assert.equal(stack.sessionCookie(browser), undefined);
    assert.equal((await fetch(`${stack.url}/auth/session`, { headers: { cookie: `tessera=${cookie}` } })).status, 401);
    // Mosaic's logout API ended the IdP session: signing in again shows the form.
    const again = await browser.navigate(`${stack.url}/auth/login`);
    assert.ok(parseForms(again.text, again.url).some((f) => 'password' in f.fields));
  });

  test('with TESSERA_END_SESSION, sign out continues to the IdP end-session endpoint and comes back to the post-logout path', async () => {
    await stack.restart({ endSession: true, logoutApiUrl: '' });
    try {
      const browser = stack.browser();
      await stack.login(browser);
      const out = await browser.request(`${stack.url}/auth/logout`, { method: 'POST', headers: { origin: stack.url } });
      assert.equal(out.status, 303);
      const location = new URL(out.headers.get('location')!);
      assert.equal(location.origin + location.pathname, `${stack.idp.url}/cis/oidc/session/end`);
      assert.ok(location.searchParams.get('id_token_hint'));
      assert.equal(location.searchParams.get('post_logout_redirect_uri'), `${stack.url}/auth/signed-out`);
      const back = await browser.follow(location.href);
      assert.equal(back.url, `${stack.url}/auth/signed-out?state=idp-ended`, 'back on the signed-out page');
      assert.match(back.text, /also signed out at the identity provider/);
      const again = await browser.navigate(`${stack.url}/auth/login`);
      assert.ok(parseForms(again.text, again.url).some((f) => 'password' in f.fields), 'the IdP session ended');
    } finally {
      await stack.restart();
    }
  });
});
