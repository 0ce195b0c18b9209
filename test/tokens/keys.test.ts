// The JWKS key source: key selection, rotation, outages and the refetch budget.
import * as assert from 'node:assert/strict';
import { randomUUID, webcrypto } from 'node:crypto';
import { afterEach, before, beforeEach, describe, test } from 'node:test';
import { exportJWK, type CryptoKey } from 'jose';
import { createKeySource } from '../../src/tokens/index.js';
import { startJwksServer, type JwksServer } from '../helpers/jwks-server.js';
import {
  accessClaims, accessVerifier, hmacToken, idClaims, idVerifier, jwks, makeKey, rejectsWith, sign, signRaw, sleep, type TestKey,
} from './fixtures.js';

let rsa: TestKey;
let rsa2: TestKey;
let ec: TestKey;
let server: JwksServer;
let servers: JwksServer[] = [];

before(async () => {
  [rsa, rsa2, ec] = await Promise.all([makeKey('RS256', 'rsa-1'), makeKey('RS256', 'rsa-2'), makeKey('ES256', 'ec-1')]);
});
beforeEach(async () => {
  server = await startJwksServer(jwks(rsa, ec));
  servers = [server];
});
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(keys: { keys: object[] }): Promise<JwksServer> {
  const s = await startJwksServer(keys);
  servers.push(s);
  return s;
}

describe('key selection', () => {
  test('accepts a token without kid when exactly one key matches its alg', async () => {
    // rsa-1 is the only RS256 key; the EC key cannot match.
    await accessVerifier(server).verify(await sign(rsa, accessClaims(), { kid: undefined }));
    // The same with a JWKS whose only key has no kid at all.
    const bare = await serve({ keys: [{ ...rsa.jwk, kid: undefined }] });
    await accessVerifier(bare).verify(await sign(rsa, accessClaims(), { kid: undefined }));
  });

  test('rejects a token without kid when several keys match (no trial verification)', async () => {
    const two = await serve(jwks(rsa, rsa2));
    await rejectsWith(accessVerifier(two).verify(await sign(rsa, accessClaims(), { kid: undefined })), 'ERR_TOKEN_KEY_NOT_FOUND', 'several');
  });

  test('a JWKS key without kid does not match a token that has one', async () => {
    const bare = await serve({ keys: [{ ...rsa.jwk, kid: undefined }] });
    await rejectsWith(accessVerifier(bare).verify(await sign(rsa, accessClaims())), 'ERR_TOKEN_KEY_NOT_FOUND');
  });

  test('never verifies with a use:enc key', async () => {
    const enc = await serve({ keys: [{ ...rsa.jwk, use: 'enc' }] });
    await rejectsWith(accessVerifier(enc).verify(await sign(rsa, accessClaims())), 'ERR_TOKEN_KEY_NOT_FOUND');
    const ops = await serve({ keys: [{ ...rsa.jwk, use: undefined, key_ops: ['encrypt', 'wrapKey'] }] });
    await rejectsWith(accessVerifier(ops).verify(await sign(rsa, accessClaims())), 'ERR_TOKEN_KEY_NOT_FOUND');
  });

  test('never verifies with a key whose alg differs from the token alg', async () => {
    const rs384 = await serve({ keys: [{ ...rsa.jwk, alg: 'RS384' }] });
    const verifier = accessVerifier(rs384, { algorithms: ['RS256', 'RS384', 'PS256'] });
    await rejectsWith(verifier.verify(await sign(rsa, accessClaims())), 'ERR_TOKEN_KEY_NOT_FOUND');
    // Nor an RS256 key for a PS256 token (same RSA key, another algorithm).
    const verifier2 = accessVerifier(server, { algorithms: ['RS256', 'PS256'] });
    await rejectsWith(verifier2.verify(signRaw(rsa, { alg: 'PS256', kid: 'rsa-1' }, accessClaims(), 'PS256')), 'ERR_TOKEN_KEY_NOT_FOUND');
  });

  test('ignores symmetric and private JWKS members', async () => {
    const privateJwk = { ...(await exportJWK(rsa2.privateKey)), kid: 'priv-1', use: 'sig', alg: 'RS256' };
    const mixed = await serve({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'oct-1', alg: 'HS256' }, privateJwk, rsa.jwk] });
    const verifier = accessVerifier(mixed);
    await rejectsWith(verifier.verify(await sign(rsa2, accessClaims(), { kid: 'priv-1' })), 'ERR_TOKEN_KEY_NOT_FOUND');
    await rejectsWith(verifier.verify(await sign(rsa, accessClaims(), { kid: 'oct-1' })), 'ERR_TOKEN_KEY_NOT_FOUND');
    await rejectsWith(verifier.verify(hmacToken({ alg: 'HS256', kid: 'oct-1' }, accessClaims(), 'secret')), 'ERR_TOKEN_ALG');
    await verifier.verify(await sign(rsa, accessClaims()));
  });

  test('refuses an RSA key shorter than 2048 bits', async () => {
    const pair = (await webcrypto.subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify'],
    )) as { privateKey: CryptoKey; publicKey: CryptoKey };
    const weak: TestKey = { alg: 'RS256', kid: 'weak-1', ...pair, jwk: { ...(await exportJWK(pair.publicKey)), kid: 'weak-1', use: 'sig' } };
    const weakServer = await serve(jwks(weak));
    await rejectsWith(accessVerifier(weakServer).verify(signRaw(weak, { alg: 'RS256', kid: 'weak-1' }, accessClaims())), 'ERR_TOKEN_KEY_NOT_FOUND');
  });
});

describe('rotation and outages', () => {
  test('accepts a key rotated in after start once the cooldown allows a refetch', async () => {
    const verifier = accessVerifier(server, { keySource: createKeySource({ jwksUri: server.url, cooldownMs: 200 }) });
    await verifier.verify(await sign(rsa, accessClaims()));
    server.setKeys(jwks(rsa, rsa2));
    const rotated = await sign(rsa2, accessClaims());
    await rejectsWith(verifier.verify(rotated), 'ERR_TOKEN_KEY_NOT_FOUND'); // still cooling down
    assert.equal(server.fetches, 1);
    await sleep(250);
    assert.equal((await verifier.verify(rotated)).sub, 'user-1');
    assert.equal(server.fetches, 2);
  });

  test('a key removed at the IdP stops verifying after the refetch', async () => {
    const keySource = createKeySource({ jwksUri: server.url, cooldownMs: 0, cacheMaxAgeMs: 0 });
    const verifier = accessVerifier(server, { keySource, cache: false });
    await verifier.verify(await sign(rsa, accessClaims()));
    server.setKeys(jwks(rsa2));
    await sleep(20);
    await verifier.verify(await sign(rsa, accessClaims())); // the stale set still answers; a refresh starts
    await sleep(50);
    await rejectsWith(verifier.verify(await sign(rsa, accessClaims())), 'ERR_TOKEN_KEY_NOT_FOUND');
  });

  for (const mode of [{ status: 503 }, 'reset'] as const) {
    test(`JWKS unreachable after start (${typeof mode === 'string' ? 'connection reset' : 'HTTP 503'}): known keys keep working, unknown kids fail closed`, async () => {
      const verifier = accessVerifier(server, { keySource: createKeySource({ jwksUri: server.url, cooldownMs: 100 }) });
      await verifier.verify(await sign(rsa, accessClaims()));
      server.setMode(mode);
      server.setKeys(jwks(rsa, rsa2));
      await sleep(150);
      assert.equal((await verifier.verify(await sign(rsa, accessClaims()))).sub, 'user-1');
      await rejectsWith(verifier.verify(await sign(rsa2, accessClaims())), 'ERR_TOKEN_KEY_NOT_FOUND');
      assert.equal(server.fetches, 2, 'one refetch attempt, then the cooldown holds');
      await rejectsWith(verifier.verify(await sign(rsa2, accessClaims())), 'ERR_TOKEN_KEY_NOT_FOUND');
      assert.equal(server.fetches, 2);
      // Recovery: once the IdP answers again the new key is picked up.
      server.setMode('ok');
      await sleep(150);
      assert.equal((await verifier.verify(await sign(rsa2, accessClaims()))).sub, 'user-1');
    });
  }

  test('a stale key set that cannot be refreshed keeps verifying known keys', async () => {
    const keySource = createKeySource({ jwksUri: server.url, cooldownMs: 50, cacheMaxAgeMs: 50 });
    const verifier = accessVerifier(server, { keySource, cache: false });
    await verifier.verify(await sign(rsa, accessClaims()));
    server.setMode({ status: 500 });
    await sleep(100);
    for (let i = 0; i < 5; i += 1) await verifier.verify(await sign(rsa, accessClaims()));
    assert.ok(server.fetches >= 2, 'a background refresh was attempted');
  });

  test('a JWKS answer without usable keys, or not JSON, does not replace the known keys', async () => {
    const verifier = accessVerifier(server, { keySource: createKeySource({ jwksUri: server.url, cooldownMs: 50 }), cache: false });
    await verifier.verify(await sign(rsa, accessClaims()));
    server.setKeys({ keys: [] });
    await sleep(60);
    await rejectsWith(verifier.verify(await sign(rsa2, accessClaims())), 'ERR_TOKEN_KEY_NOT_FOUND');
    await verifier.verify(await sign(rsa, accessClaims()));
    server.setMode({ status: 200, body: '<html>maintenance</html>' });
    await sleep(60);
    await rejectsWith(verifier.verify(await sign(rsa2, accessClaims())), 'ERR_TOKEN_KEY_NOT_FOUND');
    await verifier.verify(await sign(rsa, accessClaims()));
    assert.equal(server.fetches, 3);
  });

  test('the first JWKS fetch failing answers ERR_TOKEN_JWKS_UNAVAILABLE (503), then recovers', async () => {
    server.setMode({ status: 503 });
    const verifier = accessVerifier(server, { keySource: createKeySource({ jwksUri: server.url, cooldownMs: 100 }) });
    await rejectsWith(verifier.verify(await sign(rsa, accessClaims())), 'ERR_TOKEN_JWKS_UNAVAILABLE');
    await rejectsWith(verifier.verify(await sign(rsa, accessClaims())), 'ERR_TOKEN_JWKS_UNAVAILABLE');
    assert.equal(server.fetches, 1, 'retries wait for the cooldown');
    server.setMode('ok');
    await sleep(150);
    await verifier.verify(await sign(rsa, accessClaims()));
  });

  test('a JWKS request that never answers times out as ERR_TOKEN_JWKS_UNAVAILABLE', async () => {
    server.setMode('hang');
    const verifier = accessVerifier(server, { keySource: createKeySource({ jwksUri: server.url, timeoutMs: 200 }) });
    await rejectsWith(verifier.verify(await sign(rsa, accessClaims())), 'ERR_TOKEN_JWKS_UNAVAILABLE');
  });

  test('does not follow a JWKS redirect', async () => {
    const elsewhere = await serve(jwks(rsa));
    server.setMode({ status: 302, body: elsewhere.url });
    await rejectsWith(accessVerifier(server).verify(await sign(rsa, accessClaims())), 'ERR_TOKEN_JWKS_UNAVAILABLE');
    assert.equal(elsewhere.fetches, 0);
  });
});

describe('fetch budget', () => {
  test('concurrent verifications at start-up share one JWKS fetch', async () => {
    const verifier = accessVerifier(server);
    const tokens = await Promise.all(Array.from({ length: 30 }, () => sign(rsa, accessClaims())));
    await Promise.all(tokens.map((t) => verifier.verify(t)));
    assert.equal(server.fetches, 1);
  });

  test('a kid flood spread over time costs at most one fetch per cooldown', async () => {
    const cooldownMs = 100;
    const verifier = accessVerifier(server, { keySource: createKeySource({ jwksUri: server.url, cooldownMs }) });
    const started = Date.now();
    let sent = 0;
    while (Date.now() - started < 500) {
      const batch = await Promise.all(Array.from({ length: 10 }, () => sign(rsa2, accessClaims(), { kid: randomUUID() })));
      await Promise.allSettled(batch.map((t) => verifier.verify(t)));
      sent += batch.length;
      await sleep(10);
    }
    const elapsed = Date.now() - started;
    assert.ok(sent >= 50, `sent ${sent}`);
    assert.ok(server.fetches <= Math.ceil(elapsed / cooldownMs) + 1, `fetches ${server.fetches} in ${elapsed} ms for ${sent} tokens`);
  });

  test('one key source shared by the access and ID verifiers fetches the JWKS once', async () => {
    const keySource = createKeySource({ jwksUri: server.url });
    await accessVerifier(server, { keySource }).verify(await sign(rsa, accessClaims()));
    await idVerifier(server, { keySource }).verify(await sign(rsa, idClaims()));
    assert.equal(server.fetches, 1);
  });

  test('refuses bad key source options with a TypeError', () => {
    assert.throws(() => createKeySource({ jwksUri: 'ftp://idp.example/jwks' }), TypeError);
    assert.throws(() => createKeySource({ jwksUri: 'not a url' }), TypeError);
    assert.throws(() => createKeySource({ jwksUri: server.url, cooldownMs: -1 }), TypeError);
    assert.throws(() => createKeySource({ jwksUri: server.url, timeoutMs: Number.NaN }), TypeError);
  });
});
