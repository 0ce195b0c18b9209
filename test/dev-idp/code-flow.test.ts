import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { DEFAULT_AUDIENCE, DEV_CLIENT_ID, DEV_TENANT_ID } from '../../src/dev-idp/index.js';
import { Browser } from '../helpers/browser.js';
import {
  atCallback,
  authorizationRequest,
  codeFrom,
  exchangeCode,
  signInAndExchange,
  startTestIdp,
  type TestIdp,
} from './support.js';

describe('dev IdP authorization-code flow', () => {
  let t: TestIdp;
  let jwks: ReturnType<typeof createRemoteJWKSet>;

  before(async () => {
    t = await startTestIdp({ accessTokenTtl: 600 });
    jwks = createRemoteJWKSet(new URL('/cis/oidc/jwks', t.idp.url));
  });
  after(() => t.stop());

  test('alice signs in with code + PKCE and gets a Mosaic-shaped JWT access token', async () => {
    const { tokens } = await signInAndExchange(t.idp, new Browser(), { username: 'alice', password: 'alice' });
    assert.equal(tokens.token_type, 'Bearer');
    assert.equal(tokens.expires_in, 600);
    assert.equal(tokens.refresh_token, undefined, 'no refresh token without offline_access');

    const header = decodeProtectedHeader(tokens.access_token);
    assert.equal(header.alg, 'RS256');
    assert.equal(typeof header.kid, 'string');

    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: t.idp.issuer, audience: DEFAULT_AUDIENCE });
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.tid, DEV_TENANT_ID);
    assert.equal(payload.client_id, DEV_CLIENT_ID);
    assert.equal(payload.app_id, DEV_CLIENT_ID);
    assert.equal(payload.app_name, 'Tessera (development)');
    assert.deepEqual(payload.roles, ['admin', 'user']);
    assert.equal(payload.scope, 'openid');
    assert.equal(typeof payload.jti, 'string');
    assert.equal(typeof payload.iat, 'number');
    assert.equal(payload.exp, (payload.iat as number) + 600);
  });

  test('the ID token carries nonce, at_hash, sid, acr, amr, roles and tid', async () => {
    const { tokens, request } = await signInAndExchange(t.idp, new Browser(), { username: 'bob', password: 'bob' }, {
      scope: 'openid profile email',
    });
    const { payload } = await jwtVerify(tokens.id_token, jwks, { issuer: t.idp.issuer, audience: DEV_CLIENT_ID });
    assert.equal(payload.sub, 'bob');
    assert.equal(payload.nonce, request.nonce);
    assert.equal(typeof payload.at_hash, 'string');
    assert.equal(typeof payload.sid, 'string');
    assert.equal(typeof payload.auth_time, 'number');
    assert.equal(payload.acr, 'pwd');
    assert.deepEqual(payload.amr, ['pwd']);
    assert.deepEqual(payload.roles, ['user']);
    assert.equal(payload.tid, DEV_TENANT_ID);
    assert.equal(payload.email, 'bob@example.com');
    assert.equal(payload.name, 'Bob Example');
  });

  test('the code can be exchanged with client_secret_basic as well', async () => {
    const request = authorizationRequest(t.idp);
    const page = await new Browser().signIn(request.url, { username: 'alice', password: 'alice', stopAt: atCallback });
    const tokens = await exchangeCode(t.idp, codeFrom(page, request), request, { auth: 'basic' });
    assert.equal(typeof tokens.access_token, 'string');
    assert.equal(typeof tokens.id_token, 'string');
  });

  test('a wrong client secret is refused at the token endpoint', async () => {
    const request = authorizationRequest(t.idp);
    const page = await new Browser().signIn(request.url, { username: 'alice', password: 'alice', stopAt: atCallback });
    const response = await fetch(new URL('/oidc/token', t.idp.url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: codeFrom(page, request),
        redirect_uri: request.redirectUri,
        code_verifier: request.verifier,
        client_id: DEV_CLIENT_ID,
        client_secret: 'wrong',
      }),
    });
    assert.equal(response.status, 401);
    assert.equal(((await response.json()) as { error: string }).error, 'invalid_client');
  });

  test('a wrong PKCE verifier is refused', async () => {
    const request = authorizationRequest(t.idp);
    const page = await new Browser().signIn(request.url, { username: 'alice', password: 'alice', stopAt: atCallback });
    await assert.rejects(
      exchangeCode(t.idp, codeFrom(page, request), { ...request, verifier: 'x'.repeat(43) }),
      /invalid_grant/,
    );
  });

  test('a requested resource becomes the access token audience', async () => {
    const { tokens } = await signInAndExchange(t.idp, new Browser(), { username: 'alice', password: 'alice' }, {
      resource: 'https://api.example.com/',
    });
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: t.idp.issuer });
    assert.equal(payload.aud, 'https://api.example.com/');
    assert.equal(payload.tid, DEV_TENANT_ID);
  });

  test('any loopback port is a valid callback for tessera-dev, other URIs are not', async () => {
    const request = authorizationRequest(t.idp, { redirect_uri: 'http://127.0.0.1:45678/auth/callback' });
    const page = await new Browser().signIn(request.url, { username: 'alice', password: 'alice', stopAt: atCallback });
    assert.ok(codeFrom(page, request));

    const bad = authorizationRequest(t.idp, { redirect_uri: 'http://evil.example/auth/callback' });
    const refused = await new Browser().navigate(bad.url, { stopAt: atCallback });
    assert.equal(refused.stopped, false, 'must not redirect to an unregistered URI');
    assert.equal(refused.status, 400);
    assert.match(refused.text, /redirect_uri/);
  });

  test('userinfo at /cis/oidc/me answers for the JWT access token', async () => {
    const { tokens } = await signInAndExchange(t.idp, new Browser(), { username: 'alice', password: 'alice' }, {
      scope: 'openid email',
    });
    const response = await fetch(new URL('/cis/oidc/me', t.idp.url), { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(response.status, 200);
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(body.sub, 'alice');
    assert.equal(body.email, 'alice@example.com');
    assert.deepEqual(body.roles, ['admin', 'user']);

    const anonymous = await fetch(new URL('/cis/oidc/me', t.idp.url));
    assert.equal(anonymous.status, 401);
    const withIdToken = await fetch(new URL('/cis/oidc/me', t.idp.url), { headers: { authorization: `Bearer ${tokens.id_token}` } });
    assert.equal(withIdToken.status, 401, 'an ID token is not an access token');
  });
});
