// Back-channel logout tokens: OpenID Connect Back-Channel Logout 1.0 §2.4 and §2.6.
import * as assert from 'node:assert/strict';
import { afterEach, before, beforeEach, describe, test } from 'node:test';
import { TesseraError } from '../../src/errors.js';
import { BACKCHANNEL_LOGOUT_EVENT, createLogoutTokenVerifier } from '../../src/tokens/index.js';
import { startJwksServer, type JwksServer } from '../helpers/jwks-server.js';
import {
  CLIENT_ID, ISSUER, accessClaims, idClaims, jwks, logoutClaims, logoutVerifier, makeKey, now, rejectsWith, sign, type TestKey,
} from './fixtures.js';

let rsa: TestKey;
let server: JwksServer;

before(async () => {
  rsa = await makeKey('RS256', 'rsa-1');
});
beforeEach(async () => {
  server = await startJwksServer(jwks(rsa));
});
afterEach(() => server.close());

describe('accepts', () => {
  test('accepts a valid logout token and returns sub, sid, jti and iss', async () => {
    const claims = logoutClaims();
    const verifier = logoutVerifier(server);
    const result = await verifier.verify(await sign(rsa, claims, { typ: 'logout+jwt' }));
    assert.deepEqual(result, { sub: 'user-1', sid: 'idp-session-1', jti: claims.jti, iss: ISSUER });
    const ttl = verifier.seen.get(String(claims.jti));
    assert.ok(ttl !== undefined && ttl > 0 && ttl <= (120 + 30) * 1000, `jti remembered for ${ttl} ms`);
  });

  test('accepts a logout token with only sid, or only sub', async () => {
    const verifier = logoutVerifier(server);
    assert.deepEqual(Object.keys(await verifier.verify(await sign(rsa, logoutClaims({ sub: undefined })))).sort(), ['iss', 'jti', 'sid']);
    assert.deepEqual(Object.keys(await verifier.verify(await sign(rsa, logoutClaims({ sid: undefined })))).sort(), ['iss', 'jti', 'sub']);
  });

  test('accepts typ absent or application/logout+jwt', async () => {
    const verifier = logoutVerifier(server);
    await verifier.verify(await sign(rsa, logoutClaims()));
    await verifier.verify(await sign(rsa, logoutClaims(), { typ: 'application/logout+jwt' }));
  });
});

describe('rejects', () => {
  test('rejects a replayed jti', async () => {
    const verifier = logoutVerifier(server);
    const token = await sign(rsa, logoutClaims());
    await verifier.verify(token);
    await rejectsWith(verifier.verify(token), 'ERR_TOKEN_REPLAYED', '"jti"');
    // The same jti in a freshly signed token is a replay too.
    const again = await sign(rsa, logoutClaims({ jti: JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).jti }));
    await rejectsWith(verifier.verify(again), 'ERR_TOKEN_REPLAYED');
  });

  test('rejects a missing jti', async () => {
    await rejectsWith(logoutVerifier(server).verify(await sign(rsa, logoutClaims({ jti: undefined }))), 'ERR_TOKEN_CLAIM', '"jti"');
    await rejectsWith(logoutVerifier(server).verify(await sign(rsa, logoutClaims({ jti: '' }))), 'ERR_TOKEN_CLAIM', '"jti"');
  });

  test('rejects a logout token with a nonce', async () => {
    await rejectsWith(logoutVerifier(server).verify(await sign(rsa, logoutClaims({ nonce: 'n' }))), 'ERR_TOKEN_CLAIM', '"nonce"');
  });

  test('rejects a logout token without sub and sid', async () => {
    await rejectsWith(logoutVerifier(server).verify(await sign(rsa, logoutClaims({ sub: undefined, sid: undefined }))), 'ERR_TOKEN_CLAIM', '"sid"');
    await rejectsWith(logoutVerifier(server).verify(await sign(rsa, logoutClaims({ sub: 1, sid: undefined }))), 'ERR_TOKEN_CLAIM', '"sub"');
  });

  test('rejects events without the back-channel logout member as an object', async () => {
    for (const events of [
      {},
      { [BACKCHANNEL_LOGOUT_EVENT]: true },
      { [BACKCHANNEL_LOGOUT_EVENT]: 'x' },
      { [BACKCHANNEL_LOGOUT_EVENT]: [] },
      { 'http://schemas.openid.net/event/other': {} },
      [BACKCHANNEL_LOGOUT_EVENT],
      BACKCHANNEL_LOGOUT_EVENT,
    ]) {
      await rejectsWith(logoutVerifier(server).verify(await sign(rsa, logoutClaims({ events }))), 'ERR_TOKEN_CLAIM', '"events"');
    }
  });

  test('rejects a logout token without events (not a logout token)', async () => {
    await rejectsWith(logoutVerifier(server).verify(await sign(rsa, logoutClaims({ events: undefined }))), 'ERR_TOKEN_TYPE', '"events"');
  });

  test('rejects an iat outside the window', async () => {
    await rejectsWith(logoutVerifier(server).verify(await sign(rsa, logoutClaims({ iat: now() - 600 }))), 'ERR_TOKEN_EXPIRED', '"iat"');
    await rejectsWith(logoutVerifier(server).verify(await sign(rsa, logoutClaims({ iat: now() + 600 }))), 'ERR_TOKEN_NOT_YET_VALID', '"iat"');
    await rejectsWith(logoutVerifier(server).verify(await sign(rsa, logoutClaims({ iat: undefined }))), 'ERR_TOKEN_CLAIM', '"iat"');
    const strict = logoutVerifier(server, { maxAgeSeconds: 10, clockTolerance: 0 });
    await rejectsWith(strict.verify(await sign(rsa, logoutClaims({ iat: now() - 20 }))), 'ERR_TOKEN_EXPIRED');
  });

  test('rejects an exp in the past', async () => {
    await rejectsWith(logoutVerifier(server).verify(await sign(rsa, logoutClaims({ exp: now() - 60 }))), 'ERR_TOKEN_EXPIRED', '"exp"');
  });

  test('rejects a wrong iss or aud', async () => {
    await rejectsWith(logoutVerifier(server).verify(await sign(rsa, logoutClaims({ iss: 'https://evil.example' }))), 'ERR_TOKEN_CLAIM', '"iss"');
    await rejectsWith(logoutVerifier(server).verify(await sign(rsa, logoutClaims({ aud: 'other-app' }))), 'ERR_TOKEN_CLAIM', '"aud"');
  });

  test('rejects a typ other than logout+jwt', async () => {
    for (const typ of ['JWT', 'at+jwt', 'secevent+jwt']) {
      await rejectsWith(logoutVerifier(server).verify(await sign(rsa, logoutClaims(), { typ })), 'ERR_TOKEN_TYPE', '"typ"');
    }
  });

  test('a rejected token does not use up its jti', async () => {
    const verifier = logoutVerifier(server);
    await rejectsWith(verifier.verify(await sign(rsa, logoutClaims({ jti: 'j-1', nonce: 'n' }))), 'ERR_TOKEN_CLAIM');
    assert.equal(verifier.seen.size, 0);
  });
});

describe('keeps token kinds apart', () => {
  test('rejects an ID token offered as a logout token', async () => {
    const claims = idClaims({ jti: 'id-jti', sid: 'idp-session-1' });
    await rejectsWith(logoutVerifier(server).verify(await sign(rsa, claims, { typ: 'JWT' })), 'ERR_TOKEN_TYPE', '"typ"');
    await rejectsWith(logoutVerifier(server).verify(await sign(rsa, claims)), 'ERR_TOKEN_TYPE', '"events"');
  });

  test('rejects an access token offered as a logout token', async () => {
    const claims = accessClaims({ aud: CLIENT_ID });
    await rejectsWith(logoutVerifier(server).verify(await sign(rsa, claims, { typ: 'at+jwt' })), 'ERR_TOKEN_TYPE', '"typ"');
    await rejectsWith(logoutVerifier(server).verify(await sign(rsa, claims)), 'ERR_TOKEN_TYPE', '"events"');
  });
});

test('errors of rememberJti propagate unchanged (a store outage is not a token defect)', async () => {
  const outage = new TesseraError('ERR_STORE_UNAVAILABLE', 'store down');
  const verifier = createLogoutTokenVerifier({
    issuer: ISSUER, clientId: CLIENT_ID, jwksUri: server.url,
    rememberJti: () => Promise.reject(outage),
  });
  await assert.rejects(verifier.verify(await sign(rsa, logoutClaims())), (err) => err === outage);
});

test('refuses bad options with a TypeError', () => {
  const base = { issuer: ISSUER, clientId: CLIENT_ID, jwksUri: server.url, rememberJti: async () => true };
  assert.throws(() => createLogoutTokenVerifier({ ...base, maxAgeSeconds: 0 }), TypeError);
  assert.throws(() => createLogoutTokenVerifier({ ...base, rememberJti: undefined as never }), TypeError);
  assert.throws(() => createLogoutTokenVerifier({ ...base, algorithms: ['none'] }), TypeError);
});
