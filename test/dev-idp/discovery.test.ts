import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { startTestIdp, type TestIdp } from './support.js';

describe('dev IdP discovery and routes', () => {
  let t: TestIdp;
  before(async () => {
    t = await startTestIdp();
  });
  after(() => t.stop());

  test('discovery lives under /cis/oidc while the issuer is the bare origin, as in Mosaic', async () => {
    const { idp } = t;
    assert.equal(idp.issuer, idp.url);
    assert.equal(idp.discoveryUrl, `${idp.url}/cis/oidc/.well-known/openid-configuration`);
    const response = await fetch(idp.discoveryUrl);
    assert.equal(response.status, 200);
    const metadata = (await response.json()) as Record<string, unknown>;
    assert.equal(metadata.issuer, idp.issuer);
    assert.notEqual(idp.discoveryUrl, `${String(metadata.issuer)}/.well-known/openid-configuration`);
    assert.equal(metadata.authorization_endpoint, `${idp.url}/cis/oidc/auth`);
    assert.equal(metadata.token_endpoint, `${idp.url}/oidc/token`);
    assert.equal(metadata.revocation_endpoint, `${idp.url}/oidc/token/revocation`);
    assert.equal(metadata.jwks_uri, `${idp.url}/cis/oidc/jwks`);
    assert.equal(metadata.userinfo_endpoint, `${idp.url}/cis/oidc/me`);
    assert.equal(metadata.end_session_endpoint, `${idp.url}/cis/oidc/session/end`);
    assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
    assert.ok((metadata.scopes_supported as string[]).includes('offline_access'));
    assert.ok((metadata.acr_values_supported as string[]).includes('mfa'));
    assert.ok((metadata.token_endpoint_auth_methods_supported as string[]).includes('client_secret_post'));
    assert.ok((metadata.token_endpoint_auth_methods_supported as string[]).includes('client_secret_basic'));
    assert.equal(metadata.backchannel_logout_supported, true);
    assert.equal(metadata.backchannel_logout_session_supported, true);
  });

  test('there is no discovery document at the issuer itself', async () => {
    const response = await fetch(`${t.idp.issuer}/.well-known/openid-configuration`);
    assert.equal(response.status, 404);
  });

  test('the JWKS has one RSA signing key with a kid and no private parts', async () => {
    const response = await fetch(`${t.idp.url}/cis/oidc/jwks`);
    assert.equal(response.status, 200);
    const { keys } = (await response.json()) as { keys: Record<string, unknown>[] };
    assert.equal(keys.length, 1);
    const [key] = keys;
    assert.equal(key?.kty, 'RSA');
    assert.equal(key?.use, 'sig');
    assert.equal(key?.alg, 'RS256');
    assert.equal(typeof key?.kid, 'string');
    for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(key?.[secret], undefined, `JWKS leaks ${secret}`);
  });

  test('the token endpoint answers at /oidc/token and at /cis/oidc/token', async () => {
    for (const path of ['/oidc/token', '/cis/oidc/token']) {
      const response = await fetch(`${t.idp.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=authorization_code&code=nope&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fauth%2Fcallback&client_id=tessera-dev&client_secret=tessera-dev-secret',
      });
      assert.equal(response.status, 400, path);
      assert.equal(((await response.json()) as { error: string }).error, 'invalid_grant', path);
    }
  });

  test('unknown routes answer 404, malformed requests 4xx, never 500', async () => {
    const { url } = t.idp;
    const cases: [string, RequestInit, number][] = [
      ['/nope', {}, 404],
      ['/cis/oidc/nope', {}, 404],
      ['//evil.example/x', {}, 404],
      ['/cis/oidc/auth', {}, 400],
      ['/cis/oidc/auth?client_id=unknown&response_type=code&scope=openid&redirect_uri=http://localhost:3000/auth/callback', {}, 400],
      ['/oidc/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' }, 400],
      ['/oidc/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=password' }, 400],
      ['/oidc/token', { method: 'POST', headers: { authorization: 'Basic %%%', 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=authorization_code' }, 400],
      ['/interaction/unknown', {}, 400],
      ['/interaction/unknown/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=a' }, 400],
      ['/interaction/unknown/login', { method: 'GET' }, 405],
      ['/cis/v1/auth/logout', { method: 'GET' }, 405],
      ['/cis/oidc/session/end?id_token_hint=garbage', {}, 400],
    ];
    for (const [path, init, status] of cases) {
      const response = await fetch(`${url}${path}`, { redirect: 'manual', ...init });
      await response.arrayBuffer();
      assert.equal(response.status, status, `${init.method ?? 'GET'} ${path}`);
    }
  });

  test('error pages are small escaped HTML', async () => {
    const response = await fetch(`${t.idp.url}/cis/oidc/auth?client_id=%3Cscript%3E&response_type=code`, { headers: { accept: 'text/html' } });
    assert.equal(response.status, 400);
    assert.match(response.headers.get('content-type') ?? '', /text\/html/);
    const html = await response.text();
    assert.doesNotMatch(html, /<script>/);
    assert.doesNotMatch(html, /https?:\/\/(?!localhost)/, 'no external resources');
  });
});
