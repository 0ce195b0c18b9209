/**
 * SECURITY.md, "Logout": POST only, same-origin or CSRF token, local session first, the IdP's
 * logout API with a timeout, and the back-channel logout receiver — against the real stack.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateKeyPair, SignJWT } from 'jose';
import { defaultClient } from '../../src/dev-idp/clients.js';
import { startDevIdp, type DevIdp } from '../../src/dev-idp/index.js';
import { BACKCHANNEL_LOGOUT_EVENT } from '../../src/tokens/index.js';
import { parseForms, type Browser } from '../helpers/browser.js';
import { closeServer, listen, startStack, type Stack } from '../helpers/stack.js';
import { internalsOf } from '../../src/tessera.js';
import {
  eventually, idpSigner, sessionStatus, sha256, signIn, startBackchannelRelay,
} from './support.js';

describe('logout', () => {
  let stack: Stack;
  before(async () => { stack = await startStack(); });
  after(async () => { await stack.close(); });

  const live = async (id: string) => (await sessionStatus(stack, `tessera=${id}`)) === 200;

  /** The CSRF token of the confirmation form `GET /auth/logout` shows this browser. */
  async function csrfTokenFor(browser: Browser): Promise<string> {
    const page = await browser.request(`${stack.url}/auth/logout`);
    assert.equal(page.status, 200);
    return parseForms(page.text, page.url)[0]!.fields.csrf!;
  }

  describe('POST only, same-origin or CSRF token', () => {
    test('GET /auth/logout only shows the confirmation form and logs nothing out', async () => {
      const browser = stack.browser();
      const id = await signIn(stack, browser);
      const page = await browser.request(`${stack.url}/auth/logout`);
      assert.equal(page.status, 200);
      assert.deepEqual(parseForms(page.text, page.url).map((f) => f.method), ['POST']);
      assert.equal(page.headers.getSetCookie().length, 0);
      assert.ok(await live(id));
    });

    test('other methods on /auth/logout answer 405 and log nothing out', async () => {
      const browser = stack.browser();
      const id = await signIn(stack, browser);
      for (const method of ['PUT', 'DELETE', 'PATCH']) {
        const response = await browser.request(`${stack.url}/auth/logout`, { method, headers: { origin: stack.url } });
        assert.equal(response.status, 405, method);
      }
      assert.ok(await live(id));
    });

    test('a cross-origin POST is refused with 403 and the session lives on', async () => {
      const browser = stack.browser();
      const id = await signIn(stack, browser);
      const refused: Array<Record<string, string>> = [
        { origin: 'https://evil.example' },
        { 'sec-fetch-site': 'cross-site' },
        { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
        { 'sec-fetch-site': 'same-site' },
        { origin: `${stack.url}.evil.example` },
        { origin: stack.url.replace('http:', 'https:') },
        { origin: 'null' },
      ];
      for (const headers of refused) {
        const response = await browser.request(`${stack.url}/auth/logout`, { method: 'POST', headers });
        assert.equal(response.status, 403, JSON.stringify(headers));
        assert.equal(response.headers.getSetCookie().length, 0);
      }
      assert.ok(await live(id));
    });

    test('a POST with neither Origin nor a CSRF token is refused with 403', async () => {
      const browser = stack.browser();
      const id = await signIn(stack, browser);
      const forms: Array<Record<string, string> | undefined> = [undefined, { csrf: '' }, { csrf: 'forged' }, { other: 'x' }];
      for (const form of forms) {
        const response = await browser.request(`${stack.url}/auth/logout`, { method: 'POST', form });
        assert.equal(response.status, 403, JSON.stringify(form));
      }
      assert.ok(await live(id));
    });

    test('a same-origin POST logs out', async () => {
      const sameOrigin: Array<Record<string, string>> = [{ origin: stack.url }, { 'sec-fetch-site': 'same-origin' }];
      for (const headers of sameOrigin) {
        const browser = stack.browser();
        const id = await signIn(stack, browser);
        const response = await browser.request(`${stack.url}/auth/logout`, { method: 'POST', headers });
        assert.equal(response.status, 303, JSON.stringify(headers));
        assert.equal(response.headers.get('location'), '/auth/signed-out?idp=ended', 'the signed-out page, which says the IdP session ended too');
        assert.equal(response.headers.get('cache-control'), 'no-store');
        assert.equal(await live(id), false);
      }
    });

    test("the confirmation form's CSRF token logs out without Origin or Sec-Fetch-Site", async () => {
      const browser = stack.browser();
      const id = await signIn(stack, browser);
      const response = await browser.request(`${stack.url}/auth/logout`, { method: 'POST', form: { csrf: await csrfTokenFor(browser) } });
      assert.equal(response.status, 303);
      assert.ok(response.headers.getSetCookie().some((c) => /^tessera=; .*Max-Age=0/.test(c)));
      assert.equal(await live(id), false);
    });

    test('the CSRF token of another session is refused', async () => {
      const attacker = stack.browser();
      await signIn(stack, attacker, { username: 'bob' });
      const token = await csrfTokenFor(attacker);
      const victim = stack.browser();
      const id = await signIn(stack, victim);
      const response = await victim.request(`${stack.url}/auth/logout`, { method: 'POST', form: { csrf: token } });
      assert.equal(response.status, 403);
      assert.ok(await live(id));
    });

    test('a CSRF token fetched without a session is refused for a signed-in browser', async () => {
      const token = await csrfTokenFor(stack.browser());
      const victim = stack.browser();
      const id = await signIn(stack, victim);
      const response = await victim.request(`${stack.url}/auth/logout`, { method: 'POST', form: { csrf: token } });
      assert.equal(response.status, 403);
      assert.ok(await live(id));
    });
  });

  describe('local session deleted before anything else; IdP logout API called with a timeout', () => {
    let api: Server;
    let apiUrl: string;
    let mode: 'record' | 'hang' = 'record';
    let watched: string | undefined;
    const calls: Array<{ authorization: string | undefined; sessionStillStored: boolean }> = [];

    before(async () => {
      api = createServer((req, res) => {
        req.resume();
        if (mode === 'hang') {
          calls.push({ authorization: req.headers.authorization, sessionStillStored: false });
          return;
        }
        void (async () => {
          const stored = watched === undefined ? true : (await internalsOf(stack.tessera).store.get(watched)) !== undefined;
          calls.push({ authorization: req.headers.authorization, sessionStillStored: stored });
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"sessions_count":1}');
        })();
      });
      apiUrl = `${await listen(api, 0)}/cis/v1/auth/logout`;
    });
    after(async () => {
      await stack.restart();
      await closeServer(api);
    });

    test('the session is gone from the store before the IdP logout API is called with its access token', async () => {
      await stack.restart({ logoutApiUrl: apiUrl });
      mode = 'record';
      const browser = stack.browser();
      const id = await signIn(stack, browser);
      watched = sha256(id);
      calls.length = 0;
      const response = await browser.request(`${stack.url}/auth/logout`, { method: 'POST', headers: { origin: stack.url } });
      assert.equal(response.status, 303);
      assert.equal(calls.length, 1, 'the logout API was called');
      assert.equal(calls[0]!.sessionStillStored, false, 'the local session was deleted first');
      assert.match(calls[0]!.authorization ?? '', /^Bearer eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    });

    test('an unreachable IdP logout API does not stop the local logout', async () => {
      const closed = createServer();
      const closedUrl = await listen(closed, 0);
      await closeServer(closed);
      await stack.restart({ logoutApiUrl: `${closedUrl}/cis/v1/auth/logout` });
      const browser = stack.browser();
      const id = await signIn(stack, browser);
      const response = await browser.request(`${stack.url}/auth/logout`, { method: 'POST', headers: { origin: stack.url } });
      assert.equal(response.status, 303);
      assert.ok(response.headers.getSetCookie().some((c) => /^tessera=; .*Max-Age=0/.test(c)));
      assert.equal(await live(id), false);
    });

    test('an IdP logout API that never answers does not stop the local logout', async () => {
      await stack.restart({ logoutApiUrl: apiUrl });
      mode = 'hang';
      calls.length = 0;
      const browser = stack.browser();
      const id = await signIn(stack, browser);
      const response = await browser.request(`${stack.url}/auth/logout`, { method: 'POST', headers: { origin: stack.url } });
      assert.equal(calls.length, 1, 'the logout API was called');
      assert.equal(response.status, 303, 'the logout completed after the timeout');
      assert.equal(await live(id), false);
      api.closeAllConnections();
    });

    test("logout calls Mosaic's logout API, so prompt=none at the IdP then answers login_required", async () => {
      await stack.restart();
      const browser = stack.browser();
      await signIn(stack, browser);
      const silentBefore = await browser.navigate(`${stack.url}/auth/login?silent=1&returnTo=/still-in`);
      assert.equal(silentBefore.url, `${stack.url}/still-in`, 'silent sign-in works while the IdP session exists');

      const logout = await browser.request(`${stack.url}/auth/logout`, { method: 'POST', headers: { origin: stack.url } });
      assert.equal(logout.status, 303);
      const silentAuthorize = await browser.request(`${stack.url}/auth/login?silent=1&returnTo=/x`);
      const authorize = new URL(silentAuthorize.headers.get('location')!);
      assert.equal(authorize.searchParams.get('prompt'), 'none');
      const answer = await browser.navigate(authorize.href, { stopAt: (u) => u.pathname === '/auth/callback' });
      assert.equal(new URL(answer.url).searchParams.get('error'), 'login_required');
      const after = await browser.navigate(answer.url);
      assert.ok(parseForms(after.text, after.url).some((f) => 'password' in f.fields), 'an interactive login is asked for');
    });
  });
});

describe('back-channel logout', () => {
  let idpDir: string;
  let idp: DevIdp;
  let stack: Stack;
  let relay: Awaited<ReturnType<typeof startBackchannelRelay>>;
  let sign: Awaited<ReturnType<typeof idpSigner>>;

  before(async () => {
    relay = await startBackchannelRelay();
    idpDir = mkdtempSync(join(tmpdir(), 'tessera-sec-bcl-'));
    idp = await startDevIdp({ port: 0, dataDir: idpDir, quiet: true, clients: [{ ...defaultClient, backchannel_logout_uri: relay.url }] });
    stack = await startStack({ idp, options: { backchannelLogout: true } });
    relay.target = `${stack.url}/auth/backchannel-logout`;
    sign = await idpSigner(idpDir);
  });
  after(async () => {
    await stack.close();
    await idp.close();
    await relay.close();
    rmSync(idpDir, { recursive: true, force: true });
  });

  const post = (body: string, contentType = 'application/x-www-form-urlencoded') =>
    fetch(`${stack.url}/auth/backchannel-logout`, { method: 'POST', headers: { 'content-type': contentType }, body });
  const postToken = (token: string) => post(new URLSearchParams({ logout_token: token }).toString());

  /** Claims of a valid logout token for the IdP session `sid`. */
  const claims = (sid: string): Record<string, unknown> => ({
    iss: idp.issuer,
    aud: 'tessera-dev',
    iat: Math.floor(Date.now() / 1000),
    exp: Math.floor(Date.now() / 1000) + 120,
    jti: randomUUID(),
    sid,
    sub: 'alice',
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
  });

  async function sessionWithSid(): Promise<{ id: string; sid: string }> {
    const id = await signIn(stack, stack.browser());
    const record = await internalsOf(stack.tessera).store.get(sha256(id));
    assert.ok(record?.sid, 'the session records the IdP session id');
    return { id, sid: record.sid };
  }

  test('a logout at the IdP reaches the gateway and the replayed cookie then answers 401', async () => {
    const browser = stack.browser();
    const id = await signIn(stack, browser);
    const other = await signIn(stack, stack.browser(), { username: 'bob' });
    const answered = relay.statuses.length;
    const page = await browser.follow(`${idp.url}/cis/oidc/session/end`);
    assert.equal(page.status, 200);
    assert.ok(await eventually(async () => relay.statuses.length > answered), 'the IdP sent a logout token');
    assert.deepEqual(relay.statuses.slice(answered), [200]);
    assert.equal(await sessionStatus(stack, `tessera=${id}`), 401, 'the replayed cookie answers 401');
    assert.equal(await sessionStatus(stack, `tessera=${other}`), 200, "another user's session lives on");
  });

  test("Mosaic's logout API also ends the gateway session by back-channel", async () => {
    const id = await signIn(stack, stack.browser());
    const tokens = await internalsOf(stack.tessera).sessions.tokensFor(sha256(id));
    // Called straight at the IdP (as another app of the user would), not through the gateway.
    const response = await fetch(`${idp.url}/cis/v1/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${tokens!.access_token}` } });
    assert.equal(response.status, 200);
    assert.ok(await eventually(async () => (await sessionStatus(stack, `tessera=${id}`)) === 401));
  });

  test('a logout token the IdP already sent is refused when replayed', async () => {
    const id = await signIn(stack, stack.browser());
    const tokens = await internalsOf(stack.tessera).sessions.tokensFor(sha256(id));
    const answered = relay.statuses.length;
    await fetch(`${idp.url}/cis/v1/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${tokens!.access_token}` } });
    assert.ok(await eventually(async () => relay.statuses.length > answered));
    assert.equal(await sessionStatus(stack, `tessera=${id}`), 401);
    assert.equal(relay.statuses.at(-1), 200, 'accepted once');
    const replay = await postToken(relay.tokens.at(-1)!);
    assert.equal(replay.status, 400);
    assert.equal(replay.headers.get('cache-control'), 'no-store');
  });

  test('a valid logout token answers 200 with no-store and ends exactly the sessions of its sid', async () => {
    const target = await sessionWithSid();
    const bystander = await sessionWithSid();
    const response = await postToken(await sign(claims(target.sid), { typ: 'logout+jwt' }));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(await sessionStatus(stack, `tessera=${target.id}`), 401);
    assert.equal(await sessionStatus(stack, `tessera=${bystander.id}`), 200);
  });

  test('a logout token with only sub ends every session of that user', async () => {
    const a = await sessionWithSid();
    const b = await sessionWithSid();
    const bob = await signIn(stack, stack.browser(), { username: 'bob' });
    const { sid: _sid, ...bySub } = claims(a.sid);
    const response = await postToken(await sign(bySub));
    assert.equal(response.status, 200);
    for (const id of [a.id, b.id]) assert.equal(await sessionStatus(stack, `tessera=${id}`), 401);
    assert.equal(await sessionStatus(stack, `tessera=${bob}`), 200);
  });

  test('every defective logout token is refused with 400 and no-store, and ends nothing', async () => {
    const { id, sid } = await sessionWithSid();
    const attackerKey = await generateKeyPair('RS256');
    const kid = (JSON.parse(Buffer.from((await sign({})).split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
    const base = () => claims(sid);
    const without = (name: string) => { const c = base(); delete c[name]; return c; };
    const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const idToken = (await internalsOf(stack.tessera).sessions.tokensFor(sha256(id)))!.id_token!;
    const [goodHeader, , goodSignature] = (await sign(base())).split('.');
    const defects: Array<[string, string]> = [
      ['signed by another key with the IdP kid', await new SignJWT(base()).setProtectedHeader({ alg: 'RS256', kid }).sign(attackerKey.privateKey)],
      ['alg none', `${b64({ alg: 'none', typ: 'logout+jwt' })}.${b64(base())}.`],
      ['signature stripped', (await sign(base())).split('.').slice(0, 2).join('.') + '.'],
      ['claims tampered after signing (old signature kept)', `${goodHeader}.${b64({ ...base(), sub: 'bob' })}.${goodSignature}`],
      ['no events', await sign(without('events'))],
      ['another event', await sign({ ...base(), events: { 'http://schemas.openid.net/event/other': {} } })],
      ['event not an object', await sign({ ...base(), events: { [BACKCHANNEL_LOGOUT_EVENT]: 'yes' } })],
      ['a nonce', await sign({ ...base(), nonce: 'n' })],
      ['neither sub nor sid', await sign((() => { const c = without('sid'); delete c.sub; return c; })())],
      ['another audience', await sign({ ...base(), aud: 'other-client' })],
      ['another issuer', await sign({ ...base(), iss: 'https://evil.example' })],
      ['issuer with a trailing slash', await sign({ ...base(), iss: `${idp.issuer}/` })],
      ['issued an hour ago', await sign({ ...base(), iat: Math.floor(Date.now() / 1000) - 3600, exp: Math.floor(Date.now() / 1000) + 60 })],
      ['expired', await sign({ ...base(), exp: Math.floor(Date.now() / 1000) - 300 })],
      ['issued in the future', await sign({ ...base(), iat: Math.floor(Date.now() / 1000) + 3600 })],
      ['no jti', await sign(without('jti'))],
      ['no iat', await sign(without('iat'))],
      ['typ of an access token', await sign(base(), { typ: 'at+jwt' })],
      ['an ID token', idToken],
      ['not a JWT', 'not-a-token'],
      ['two segments', 'eyJhbGciOiJSUzI1NiJ9.e30'],
      ['over 16 KB', `${'a'.repeat(17_000)}.b.c`],
    ];
    for (const [name, token] of defects) {
      const response = await postToken(token);
      assert.equal(response.status, 400, name);
      assert.equal(response.headers.get('cache-control'), 'no-store', name);
      assert.equal(((await response.json()) as { error: string }).error, 'invalid_request', name);
    }
    for (const [name, body, type] of [
      ['no body', '', undefined],
      ['no logout_token field', 'token=x', undefined],
      ['a JSON body', JSON.stringify({ logout_token: await sign(base()) }), 'application/json'],
    ] as const) {
      const response = await post(body, type);
      assert.equal(response.status, 400, name);
      assert.equal(response.headers.get('cache-control'), 'no-store', name);
    }
    const get = await fetch(`${stack.url}/auth/backchannel-logout`);
    assert.equal(get.status, 405);
    assert.equal(await sessionStatus(stack, `tessera=${id}`), 200, 'the session survived every defective token');
  });

  test('the back-channel receiver is off unless configured', async () => {
    const plain = await startStack({ idp });
    try {
      const response = await fetch(`${plain.url}/auth/backchannel-logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'logout_token=x' });
      assert.equal(response.status, 404);
    } finally {
      await plain.close();
    }
  });
});
