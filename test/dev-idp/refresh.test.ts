import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { DEFAULT_AUDIENCE, DEV_TENANT_ID } from '../../src/dev-idp/index.js';
import { Browser } from '../helpers/browser.js';
import { signInAndExchange, startTestIdp, tokenRequest, type TestIdp, type TokenResponse } from './support.js';

describe('dev IdP refresh tokens', () => {
  let t: TestIdp;
  let jwks: ReturnType<typeof createRemoteJWKSet>;
  before(async () => {
    t = await startTestIdp();
    jwks = createRemoteJWKSet(new URL('/cis/oidc/jwks', t.idp.url));
  });
  after(() => t.stop());

  const refresh = async (refreshToken: string, auth: 'post' | 'basic' = 'post') => {
    const response = await tokenRequest(t.idp, { grant_type: 'refresh_token', refresh_token: refreshToken }, { auth });
    return { status: response.status, body: (await response.json()) as TokenResponse & { error?: string } };
  };

  test('offline_access without prompt=consent yields a refresh token that works at /oidc/token', async () => {
    const { tokens } = await signInAndExchange(t.idp, new Browser(), { username: 'alice', password: 'alice' }, {
      scope: 'openid offline_access',
    });
    assert.equal(typeof tokens.refresh_token, 'string');
    assert.match(tokens.scope, /offline_access/);

    const { status, body } = await refresh(tokens.refresh_token ?? '');
    assert.equal(status, 200, JSON.stringify(body));
    assert.notEqual(body.access_token, tokens.access_token);
    assert.equal(body.expires_in, 3600);
    const { payload } = await jwtVerify(body.access_token, jwks, { issuer: t.idp.issuer, audience: DEFAULT_AUDIENCE });
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.tid, DEV_TENANT_ID);
    assert.deepEqual(payload.roles, ['admin', 'user']);
    // Refresh tokens rotate on use (Mosaic): the old one is spent.
    assert.equal(typeof body.refresh_token, 'string');
    assert.notEqual(body.refresh_token, tokens.refresh_token);
  });

  test('a refresh token works with client_secret_basic too', async () => {
    const { tokens } = await signInAndExchange(t.idp, new Browser(), { username: 'bob', password: 'bob' }, {
      scope: 'openid offline_access',
    });
    const { status, body } = await refresh(tokens.refresh_token ?? '', 'basic');
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal((await jwtVerify(body.access_token, jwks)).payload.sub, 'bob');
  });

  test('no refresh token is issued without offline_access', async () => {
    const { tokens } = await signInAndExchange(t.idp, new Browser(), { username: 'alice', password: 'alice' }, {
      scope: 'openid profile',
    });
    assert.equal(tokens.refresh_token, undefined);
  });

  test('a refresh token revoked at /oidc/token/revocation no longer works', async () => {
    const { tokens } = await signInAndExchange(t.idp, new Browser(), { username: 'alice', password: 'alice' }, {
      scope: 'openid offline_access',
    });
    const revocation = await tokenRequest(t.idp, { token: tokens.refresh_token ?? '', token_type_hint: 'refresh_token' }, {}, '/oidc/token/revocation');
    assert.equal(revocation.status, 200);
    const { status, body } = await refresh(tokens.refresh_token ?? '');
    assert.equal(status, 400);
    assert.equal(body.error, 'invalid_grant');
  });

  test('an unknown refresh token is invalid_grant', async () => {
    const { status, body } = await refresh('not-a-refresh-token');
    assert.equal(status, 400);
    assert.equal(body.error, 'invalid_grant');
  });
});
