// ID tokens: OpenID Connect Core §3.1.3.7.
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, before, beforeEach, describe, test } from 'node:test';
import { createIdTokenVerifier } from '../../src/tokens/index.js';
import { startJwksServer, type JwksServer } from '../helpers/jwks-server.js';
import {
  AUDIENCE, CLIENT_ID, ISSUER, accessClaims, idClaims, idVerifier, jwks, logoutClaims, makeKey, now, rejectsWith, sign, type TestKey,
} from './fixtures.js';

let rsa: TestKey;
let ec384: TestKey;
let ed: TestKey;
let server: JwksServer;

before(async () => {
  [rsa, ec384, ed] = await Promise.all([makeKey('RS256', 'rsa-1'), makeKey('ES384', 'ec-384'), makeKey('EdDSA', 'ed-1')]);
});
beforeEach(async () => {
  server = await startJwksServer(jwks(rsa, ec384, ed));
});
afterEach(() => server.close());

/** at_hash computed independently of the implementation: left half of the digest, base64url. */
function atHash(accessToken: string, hash: 'sha256' | 'sha384' | 'sha512'): string {
  const digest = createHash(hash).update(accessToken).digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

const ACCESS_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJl';

describe('accepts', () => {
  test('accepts a valid ID token with the expected nonce and at_hash', async () => {
    const claims = idClaims({ at_hash: atHash(ACCESS_TOKEN, 'sha256'), sid: 'idp-session-1' });
    const result = await idVerifier(server).verify(await sign(rsa, claims), { nonce: 'nonce-1', accessToken: ACCESS_TOKEN });
    assert.deepEqual(result, claims);
    assert.ok(Object.isFrozen(result));
  });

  test('checks at_hash with the hash of the token algorithm (ES384 → SHA-384, EdDSA → SHA-512)', async () => {
    const verifier = idVerifier(server, { algorithms: ['ES384', 'EdDSA'] });
    await verifier.verify(await sign(ec384, idClaims({ at_hash: atHash(ACCESS_TOKEN, 'sha384') })), { accessToken: ACCESS_TOKEN });
    await verifier.verify(await sign(ed, idClaims({ at_hash: atHash(ACCESS_TOKEN, 'sha512') })), { accessToken: ACCESS_TOKEN });
    await rejectsWith(verifier.verify(await sign(ec384, idClaims({ at_hash: atHash(ACCESS_TOKEN, 'sha256') })), { accessToken: ACCESS_TOKEN }), 'ERR_TOKEN_CLAIM', '"at_hash"');
  });

  test('accepts an ID token without at_hash when the access token is given (at_hash is optional in the code flow)', async () => {
    await idVerifier(server).verify(await sign(rsa, idClaims()), { accessToken: ACCESS_TOKEN });
  });

  test('accepts several audiences when azp is this client', async () => {
    await idVerifier(server).verify(await sign(rsa, idClaims({ aud: [CLIENT_ID, 'other-app'], azp: CLIENT_ID })));
  });

  test('accepts a fresh auth_time with max_age', async () => {
    await idVerifier(server).verify(await sign(rsa, idClaims({ auth_time: now() - 10 })), { maxAge: 60 });
  });
});

describe('rejects', () => {
  test('rejects a wrong nonce', async () => {
    await rejectsWith(idVerifier(server).verify(await sign(rsa, idClaims()), { nonce: 'nonce-2' }), 'ERR_TOKEN_CLAIM', '"nonce"');
  });

  test('rejects a missing nonce when one was sent', async () => {
    await rejectsWith(idVerifier(server).verify(await sign(rsa, idClaims({ nonce: undefined })), { nonce: 'nonce-1' }), 'ERR_TOKEN_CLAIM', '"nonce"');
  });

  test('rejects an at_hash that does not match the access token', async () => {
    const token = await sign(rsa, idClaims({ at_hash: atHash('another-access-token', 'sha256') }));
    await rejectsWith(idVerifier(server).verify(token, { accessToken: ACCESS_TOKEN }), 'ERR_TOKEN_CLAIM', '"at_hash"');
  });

  test('rejects an aud without this client', async () => {
    await rejectsWith(idVerifier(server).verify(await sign(rsa, idClaims({ aud: 'other-app' }))), 'ERR_TOKEN_CLAIM', '"aud"');
    await rejectsWith(idVerifier(server).verify(await sign(rsa, idClaims({ aud: undefined }))), 'ERR_TOKEN_CLAIM', '"aud"');
  });

  test('rejects several audiences without azp', async () => {
    await rejectsWith(idVerifier(server).verify(await sign(rsa, idClaims({ aud: [CLIENT_ID, 'other-app'] }))), 'ERR_TOKEN_CLAIM', '"azp"');
  });

  test('rejects an azp of another client', async () => {
    await rejectsWith(idVerifier(server).verify(await sign(rsa, idClaims({ azp: 'other-app' }))), 'ERR_TOKEN_CLAIM', '"azp"');
  });

  test('rejects a wrong iss', async () => {
    await rejectsWith(idVerifier(server).verify(await sign(rsa, idClaims({ iss: `${ISSUER}/` }))), 'ERR_TOKEN_CLAIM', '"iss"');
  });

  test('rejects an expired ID token', async () => {
    await rejectsWith(idVerifier(server).verify(await sign(rsa, idClaims({ exp: now() - 120 }))), 'ERR_TOKEN_EXPIRED');
    await rejectsWith(idVerifier(server).verify(await sign(rsa, idClaims({ exp: undefined }))), 'ERR_TOKEN_CLAIM', '"exp"');
  });

  test('rejects a missing or future iat', async () => {
    await rejectsWith(idVerifier(server).verify(await sign(rsa, idClaims({ iat: undefined }))), 'ERR_TOKEN_CLAIM', '"iat"');
    await rejectsWith(idVerifier(server).verify(await sign(rsa, idClaims({ iat: now() + 3600 }))), 'ERR_TOKEN_NOT_YET_VALID', '"iat"');
  });

  test('rejects a missing sub', async () => {
    await rejectsWith(idVerifier(server).verify(await sign(rsa, idClaims({ sub: undefined }))), 'ERR_TOKEN_CLAIM', '"sub"');
  });

  test('rejects max_age exceeded or auth_time missing', async () => {
    await rejectsWith(idVerifier(server).verify(await sign(rsa, idClaims({ auth_time: now() - 3600 })), { maxAge: 60 }), 'ERR_TOKEN_CLAIM', '"auth_time"');
    await rejectsWith(idVerifier(server).verify(await sign(rsa, idClaims({ auth_time: undefined })), { maxAge: 60 }), 'ERR_TOKEN_CLAIM', '"auth_time"');
  });

  test('rejects an algorithm outside the allow-list', async () => {
    await rejectsWith(idVerifier(server).verify(await sign(ec384, idClaims())), 'ERR_TOKEN_ALG');
  });

  test('rejects claims of the wrong type (amr, acr)', async () => {
    await rejectsWith(idVerifier(server).verify(await sign(rsa, idClaims({ amr: 'pwd' }))), 'ERR_TOKEN_CLAIM', '"amr"');
    await rejectsWith(idVerifier(server).verify(await sign(rsa, idClaims({ acr: 2 }))), 'ERR_TOKEN_CLAIM', '"acr"');
  });
});

describe('keeps token kinds apart', () => {
  test('rejects an access token offered as an ID token', async () => {
    // Mosaic's access token: aud is the API, not the client.
    await rejectsWith(idVerifier(server).verify(await sign(rsa, accessClaims())), 'ERR_TOKEN_CLAIM', '"aud"');
    // RFC 9068 access tokens say what they are.
    await rejectsWith(idVerifier(server).verify(await sign(rsa, accessClaims({ aud: CLIENT_ID }), { typ: 'at+jwt' })), 'ERR_TOKEN_TYPE', '"typ"');
    await rejectsWith(idVerifier(server).verify(await sign(rsa, accessClaims({ aud: [AUDIENCE, CLIENT_ID] }), { typ: 'application/at+jwt' })), 'ERR_TOKEN_TYPE');
  });

  test('rejects a logout token offered as an ID token', async () => {
    const claims = logoutClaims({ exp: now() + 60 });
    await rejectsWith(idVerifier(server).verify(await sign(rsa, claims, { typ: 'logout+jwt' })), 'ERR_TOKEN_TYPE', '"typ"');
    await rejectsWith(idVerifier(server).verify(await sign(rsa, claims)), 'ERR_TOKEN_TYPE', '"events"');
  });
});

test('refuses bad options with a TypeError', async () => {
  assert.throws(() => createIdTokenVerifier({ issuer: ISSUER, clientId: '', jwksUri: server.url }), TypeError);
  assert.throws(() => createIdTokenVerifier({ issuer: ISSUER, clientId: CLIENT_ID, jwksUri: server.url, algorithms: ['HS256'] }), TypeError);
  const verifier = idVerifier(server);
  const token = await sign(rsa, idClaims());
  await assert.rejects(verifier.verify(token, { nonce: '' }), TypeError);
  await assert.rejects(verifier.verify(token, { maxAge: -1 }), TypeError);
});
