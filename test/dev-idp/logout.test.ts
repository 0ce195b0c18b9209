import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { Browser } from '../helpers/browser.js';
import { signInAndExchange, silentAuth, startTestIdp, tokenRequest, type TestIdp } from './support.js';

const BACKCHANNEL_CLIENT = 'backchannel-app';
const BACKCHANNEL_CALLBACK = 'http://localhost:3100/auth/callback';

/** A tiny back-channel logout receiver that records the logout tokens it gets. */
async function startReceiver(): Promise<{ url: string; tokens: string[]; next(): Promise<string>; close(): Promise<void> }> {
  const tokens: string[] = [];
  const waiters: ((token: string) => void)[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => { body += chunk; });
    req.on('end', () => {
      const token = new URLSearchParams(body).get('logout_token');
      if (req.method === 'POST' && token) {
        tokens.push(token);
        waiters.shift()?.(token);
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/auth/backchannel-logout`,
    tokens,
    next: () => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no back-channel logout within 3 s')), 3000);
      waiters.push((token) => { clearTimeout(timer); resolve(token); });
    }),
    close: () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

describe('dev IdP logout', () => {
  let t: TestIdp;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let jwks: ReturnType<typeof createRemoteJWKSet>;

  before(async () => {
    receiver = await startReceiver();
    t = await startTestIdp({
      clients: [{
        client_id: BACKCHANNEL_CLIENT,
        client_secret: 'backchannel-app-secret',
        redirect_uris: [BACKCHANNEL_CALLBACK],
        post_logout_redirect_uris: ['http://localhost:3100/'],
        backchannel_logout_uri: receiver.url,
      }],
    });
    jwks = createRemoteJWKSet(new URL('/cis/oidc/jwks', t.idp.url));
  });
  after(async () => {
    await t.stop();
    await receiver.close();
  });

  const logoutApi = (authorization?: string) => fetch(new URL('/cis/v1/auth/logout', t.idp.url), {
    method: 'POST',
    headers: authorization === undefined ? {} : { authorization },
  });

  test('the logout API without a token answers 401 Invalid token', async () => {
    const response = await logoutApi();
    assert.equal(response.status, 401);
    assert.deepEqual(await response.json(), { message: 'Invalid token', error_code: 401 });
  });

  test('the logout API with a bad token answers 401 and ends nothing', async () => {
    const browser = new Browser();
    const { tokens } = await signInAndExchange(t.idp, browser, { username: 'alice', password: 'alice' });
    const [header, payload] = tokens.access_token.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(342)}`;
    for (const authorization of [`Bearer ${forged}`, 'Bearer not-a-jwt', `Bearer ${tokens.id_token}`, `Basic ${tokens.access_token}`]) {
      const response = await logoutApi(authorization);
      assert.equal(response.status, 401, authorization.slice(0, 20));
      assert.deepEqual(await response.json(), { message: 'Invalid token', error_code: 401 });
    }
    const silent = await silentAuth(t.idp, browser);
    assert.ok(silent.params.get('code'), 'the IdP session is still there');
  });

  test('the logout API ends the user\'s IdP sessions; prompt=none then answers login_required', async () => {
    const first = new Browser();
    const second = new Browser();
    const { tokens } = await signInAndExchange(t.idp, first, { username: 'bob', password: 'bob' });
    await signInAndExchange(t.idp, second, { username: 'bob', password: 'bob' });
    const other = new Browser();
    await signInAndExchange(t.idp, other, { username: 'alice', password: 'alice' });

    const response = await logoutApi(`Bearer ${tokens.access_token}`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { sessions_count: number };
    assert.deepEqual(body, { sessions_count: 2 }, "both of bob's browser sessions, not alice's");

    for (const browser of [first, second]) {
      const silent = await silentAuth(t.idp, browser);
      assert.equal(silent.params.get('error'), 'login_required');
    }
    const unaffected = await silentAuth(t.idp, other);
    assert.ok(unaffected.params.get('code'), 'another user keeps the IdP session');

    const again = await logoutApi(`Bearer ${tokens.access_token}`);
    assert.deepEqual(await again.json(), { sessions_count: 0 });
  });

  test('an offline refresh token keeps working after the logout API ended the IdP session', async () => {
    const { tokens } = await signInAndExchange(t.idp, new Browser(), { username: 'bob', password: 'bob' }, {
      scope: 'openid offline_access',
    });
    assert.equal((await logoutApi(`Bearer ${tokens.access_token}`)).status, 200);
    const response = await tokenRequest(t.idp, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token ?? '' });
    assert.equal(response.status, 200, await response.clone().text());
  });

  test('RP-initiated logout ends the session and sends a back-channel logout token with sid', async () => {
    const browser = new Browser();
    const { tokens } = await signInAndExchange(t.idp, browser, { username: 'alice', password: 'alice' }, {
      client_id: BACKCHANNEL_CLIENT,
      redirect_uri: BACKCHANNEL_CALLBACK,
    }, { clientSecret: 'backchannel-app-secret' });
    const idToken = await jwtVerify(tokens.id_token, jwks, { issuer: t.idp.issuer, audience: BACKCHANNEL_CLIENT });
    assert.equal(typeof idToken.payload.sid, 'string');

    const received = receiver.next();
    const endSession = new URL('/cis/oidc/session/end', t.idp.url);
    endSession.search = new URLSearchParams({
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: 'http://localhost:3100/',
      state: 'bye',
    }).toString();
    // A script finishes the logout by following redirects and submitting the self-posting form.
    const page = await browser.follow(endSession.href, { stopAt: (url) => url.port === '3100' });
    assert.equal(page.stopped, true, `logout did not return to the app: ${page.status} ${page.text.slice(0, 200)}`);
    assert.equal(new URL(page.url).searchParams.get('state'), 'bye');

    const logoutToken = await received;
    const { payload, protectedHeader } = await jwtVerify(logoutToken, jwks, {
      issuer: t.idp.issuer,
      audience: BACKCHANNEL_CLIENT,
      typ: 'logout+jwt',
    });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.sid, idToken.payload.sid);
    assert.ok(payload.events && 'http://schemas.openid.net/event/backchannel-logout' in (payload.events as object));
    assert.equal(payload.nonce, undefined);

    const silent = await silentAuth(t.idp, browser, { client_id: BACKCHANNEL_CLIENT, redirect_uri: BACKCHANNEL_CALLBACK });
    assert.equal(silent.params.get('error'), 'login_required');
  });

  test('the logout API also notifies back-channel clients of the ended session', async () => {
    const browser = new Browser();
    const { tokens } = await signInAndExchange(t.idp, browser, { username: 'alice', password: 'alice' }, {
      client_id: BACKCHANNEL_CLIENT,
      redirect_uri: BACKCHANNEL_CALLBACK,
    }, { clientSecret: 'backchannel-app-secret' });
    const sid = (await jwtVerify(tokens.id_token, jwks)).payload.sid;
    const received = receiver.next();
    const response = await logoutApi(`Bearer ${tokens.access_token}`);
    assert.equal(response.status, 200);
    const { payload } = await jwtVerify(await received, jwks, { issuer: t.idp.issuer, audience: BACKCHANNEL_CLIENT });
    assert.equal(payload.sid, sid);
  });
});
