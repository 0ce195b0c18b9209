// The access-token attack suite: one test per "Token validation" line of SECURITY.md.
import * as assert from 'node:assert/strict';
import { KeyObject, randomUUID } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { createAccessTokenVerifier, createKeySource } from '../../src/tokens/index.js';
import { startJwksServer, type JwksServer } from '../helpers/jwks-server.js';
import { shiftClock } from '../helpers/clock.js';
import {
  AUDIENCE, CLIENT_ID, ISSUER, TENANT_ID, accessClaims, accessVerifier, b64, countingKeySource, hmacToken, idClaims, jwks,
  logoutClaims, makeKey, now, rejectsWith, sign, signRaw, sleep, type TestKey,
} from './fixtures.js';

let rsa: TestKey; // the IdP's key, kid "rsa-1"
let attacker: TestKey; // another issuer's key that claims the same kid
let ec: TestKey;
let ps: TestKey;
let ed: TestKey;
let server: JwksServer;
let attackerServer: JwksServer;

before(async () => {
  [rsa, attacker, ec, ps, ed] = await Promise.all([
    makeKey('RS256', 'rsa-1'), makeKey('RS256', 'rsa-1'), makeKey('ES256', 'ec-1'), makeKey('PS256', 'ps-1'), makeKey('EdDSA', 'ed-1'),
  ]);
  attackerServer = await startJwksServer(jwks(attacker));
});
after(() => attackerServer.close());
beforeEach(async () => {
  server = await startJwksServer(jwks(rsa, ec, ps, ed));
  attackerServer.resetCount();
});
afterEach(() => server.close());

const header = (extra: Record<string, unknown> = {}) => ({ alg: 'RS256', kid: 'rsa-1', typ: 'JWT', ...extra });
const fakeSignature = b64(new Uint8Array(256).fill(7));

describe('accepts', () => {
  test('accepts a valid Mosaic access token and returns its claims', async () => {
    const claims = accessClaims();
    const result = await accessVerifier(server).verify(await sign(rsa, claims, { typ: 'JWT' }));
    assert.deepEqual(result, claims);
    assert.ok(Object.isFrozen(result) && Object.isFrozen(result.roles), 'verified claims are frozen');
    assert.equal(server.fetches, 1);
  });

  for (const typ of [undefined, 'JWT', 'at+jwt', 'application/at+jwt']) {
    test(`accepts typ ${typ === undefined ? 'absent' : `"${typ}"`} in the default mode`, async () => {
      await accessVerifier(server).verify(await sign(rsa, accessClaims(), { typ }));
    });
  }

  for (const key of ['ps', 'ec', 'ed'] as const) {
    test(`accepts a ${key === 'ps' ? 'PS256' : key === 'ec' ? 'ES256' : 'EdDSA'} token when that algorithm is allowed`, async () => {
      const signer = { ps, ec, ed }[key];
      const verifier = accessVerifier(server, { algorithms: ['RS256', signer.alg] });
      assert.equal((await verifier.verify(await sign(signer, accessClaims()))).sub, 'user-1');
    });
  }

  test('does not check aud when no audience is configured', async () => {
    const verifier = accessVerifier(server, { audience: undefined });
    assert.equal((await verifier.verify(await sign(rsa, accessClaims({ aud: 'https://api.other.example' })))).sub, 'user-1');
  });

  test('accepts a token whose aud array contains the expected audience', async () => {
    await accessVerifier(server).verify(await sign(rsa, accessClaims({ aud: ['https://api.example', AUDIENCE] })));
  });
});

describe('rejects malformed input', () => {
  for (const input of [undefined, null, 42, {}, ['a.b.c'], Buffer.from('a.b.c')]) {
    test(`rejects a non-string token (${Buffer.isBuffer(input) ? 'Buffer' : JSON.stringify(input) ?? 'undefined'})`, async () => {
      await rejectsWith(accessVerifier(server).verify(input), 'ERR_TOKEN_MALFORMED');
      assert.equal(server.fetches, 0);
    });
  }

  test('rejects a token of 2 segments', async () => {
    const [h, p] = (await sign(rsa, accessClaims())).split('.');
    await rejectsWith(accessVerifier(server).verify(`${h}.${p}`), 'ERR_TOKEN_MALFORMED');
  });

  test('rejects a token of 4 segments', async () => {
    await rejectsWith(accessVerifier(server).verify(`${await sign(rsa, accessClaims())}.${fakeSignature}`), 'ERR_TOKEN_MALFORMED');
  });

  test('rejects a token of 5 segments (JWE shaped)', async () => {
    const token = await sign(rsa, accessClaims());
    await rejectsWith(accessVerifier(server).verify(`${token}.AAAA.AAAA`), 'ERR_TOKEN_MALFORMED');
  });

  test('rejects a token with a stripped signature', async () => {
    const [h, p] = (await sign(rsa, accessClaims())).split('.');
    await rejectsWith(accessVerifier(server).verify(`${h}.${p}.`), 'ERR_TOKEN_MALFORMED');
    assert.equal(server.fetches, 0);
  });

  test('rejects base64 padding "="', async () => {
    const [h, p, s] = (await sign(rsa, accessClaims())).split('.');
    const pad = (x = '') => x + '='.repeat((4 - (x.length % 4)) % 4 || 4);
    for (const token of [`${pad(h)}.${p}.${s}`, `${h}.${pad(p)}.${s}`, `${h}.${p}.${pad(s)}`]) {
      await rejectsWith(accessVerifier(server).verify(token), 'ERR_TOKEN_MALFORMED');
    }
  });

  test('rejects non-base64url characters', async () => {
    const token = await sign(rsa, accessClaims());
    const [h, p, s = ''] = token.split('.');
    for (const bad of [`${h}.${p}.${s.slice(0, -2)}+/`, `${h} .${p}.${s}`, `${h}.${p}\n.${s}`, `${h}.${p}.${s}é`, `${h}.${p}.${s.slice(0, 10)}%2F${s.slice(13)}`]) {
      await rejectsWith(accessVerifier(server).verify(bad), 'ERR_TOKEN_MALFORMED');
    }
    assert.equal(server.fetches, 0);
  });

  test('rejects a non-canonical base64url spelling of a valid signature', async () => {
    const token = await sign(rsa, accessClaims());
    // 256 signature bytes encode to 342 characters; the last carries 4 unused bits.
    const last = token.at(-1) ?? '';
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const respelt = token.slice(0, -1) + alphabet[alphabet.indexOf(last) + 1];
    assert.deepEqual(Buffer.from(respelt.split('.')[2] ?? '', 'base64url'), Buffer.from(token.split('.')[2] ?? '', 'base64url'));
    await rejectsWith(accessVerifier(server).verify(respelt), 'ERR_TOKEN_MALFORMED');
  });

  for (const json of ['[]', '"x"', '1', 'null', 'true', 'not json', '{"alg":"RS256"']) {
    test(`rejects a header that is not a JSON object: ${json}`, async () => {
      await rejectsWith(accessVerifier(server).verify(`${b64(json)}.${b64(accessClaims())}.${fakeSignature}`), 'ERR_TOKEN_MALFORMED');
      assert.equal(server.fetches, 0);
    });
  }

  for (const json of ['[]', '"x"', '1', 'null', '[{"sub":"user-1"}]', '{"sub":']) {
    test(`rejects a validly signed payload that is not a JSON object: ${json}`, async () => {
      await rejectsWith(accessVerifier(server).verify(signRaw(rsa, header(), json)), 'ERR_TOKEN_MALFORMED');
    });
  }

  test('rejects invalid UTF-8 in the header', async () => {
    const bytes = Buffer.concat([Buffer.from('{"alg":"RS256","kid":"rsa-'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    await rejectsWith(accessVerifier(server).verify(`${b64(bytes)}.${b64(accessClaims())}.${fakeSignature}`), 'ERR_TOKEN_MALFORMED');
    assert.equal(server.fetches, 0);
  });

  test('rejects invalid UTF-8 in a validly signed payload', async () => {
    const bytes = Buffer.from(JSON.stringify(accessClaims({ sub: 'user-@' })), 'utf8');
    bytes[bytes.indexOf('@')] = 0xff; // never valid in UTF-8
    await rejectsWith(accessVerifier(server).verify(signRaw(rsa, header(), bytes)), 'ERR_TOKEN_MALFORMED');
  });

  test('rejects a 17 KB token before any decoding or JWKS fetch', async () => {
    const garbage = `${b64(header())}.${'A'.repeat(17 * 1024)}.${fakeSignature}`;
    await rejectsWith(accessVerifier(server).verify(garbage), 'ERR_TOKEN_MALFORMED', '16384');
    const signed = await sign(rsa, accessClaims({ padding: 'x'.repeat(17 * 1024) }));
    await rejectsWith(accessVerifier(server).verify(signed), 'ERR_TOKEN_MALFORMED');
    assert.equal(server.fetches, 0);
  });
});

describe('rejects forged signatures and algorithms', () => {
  for (const none of ['none', 'None', 'NONE', 'nOnE']) {
    test(`rejects alg "${none}"`, async () => {
      const payload = b64(accessClaims());
      const verifier = accessVerifier(server, { algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'] });
      await rejectsWith(verifier.verify(`${b64({ alg: none, typ: 'JWT' })}.${payload}.${fakeSignature}`), 'ERR_TOKEN_ALG');
      await rejectsWith(verifier.verify(`${b64({ alg: none, kid: 'rsa-1' })}.${payload}.${fakeSignature}`), 'ERR_TOKEN_ALG');
      // The classic unsecured form has an empty signature and fails the format check already.
      await rejectsWith(verifier.verify(`${b64({ alg: none })}.${payload}.`), 'ERR_TOKEN_MALFORMED');
      assert.equal(server.fetches, 0);
    });
  }

  test('rejects tampered claims with the old signature', async () => {
    const [h, , s] = (await sign(rsa, accessClaims())).split('.');
    const forged = `${h}.${b64(accessClaims({ sub: 'admin', roles: ['admin'] }))}.${s}`;
    await rejectsWith(accessVerifier(server).verify(forged), 'ERR_TOKEN_SIGNATURE');
  });

  test('rejects a tampered header with the old signature', async () => {
    const [, p, s] = (await sign(rsa, accessClaims())).split('.');
    await rejectsWith(accessVerifier(server).verify(`${b64(header({ typ: 'at+jwt' }))}.${p}.${s}`), 'ERR_TOKEN_SIGNATURE');
  });

  test('rejects HS256 signed with the RSA public key (algorithm confusion)', async () => {
    const publicKey = KeyObject.from(rsa.publicKey);
    const secrets = [
      publicKey.export({ type: 'spki', format: 'pem' }),
      publicKey.export({ type: 'spki', format: 'der' }),
      publicKey.export({ type: 'pkcs1', format: 'pem' }),
      JSON.stringify(rsa.jwk),
    ];
    const verifier = accessVerifier(server, { algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'EdDSA'] });
    for (const secret of secrets) {
      await rejectsWith(verifier.verify(hmacToken(header({ alg: 'HS256' }), accessClaims(), secret)), 'ERR_TOKEN_ALG');
    }
    assert.equal(server.fetches, 0);
  });

  test('rejects PS256 when only RS256 is allowed', async () => {
    await rejectsWith(accessVerifier(server).verify(signRaw(rsa, header({ alg: 'PS256' }), accessClaims(), 'PS256')), 'ERR_TOKEN_ALG');
    await rejectsWith(accessVerifier(server).verify(await sign(ps, accessClaims())), 'ERR_TOKEN_ALG');
    assert.equal(server.fetches, 0);
  });

  test('rejects ES256 when only RS256 is allowed', async () => {
    await rejectsWith(accessVerifier(server).verify(await sign(ec, accessClaims())), 'ERR_TOKEN_ALG');
    assert.equal(server.fetches, 0);
  });

  test('rejects an ECDSA signature with r = s = 0 when ES256 is allowed (CVE-2022-21449)', async () => {
    const verifier = accessVerifier(server, { algorithms: ['ES256'] });
    const signingInput = `${b64({ alg: 'ES256', kid: 'ec-1' })}.${b64(accessClaims())}`;
    await rejectsWith(verifier.verify(`${signingInput}.${b64(new Uint8Array(64))}`), 'ERR_TOKEN_SIGNATURE');
    // The same in DER (SEQUENCE { INTEGER 0, INTEGER 0 }) is not even the right length.
    await rejectsWith(verifier.verify(`${signingInput}.${b64(Buffer.from('3006020100020100', 'hex'))}`), 'ERR_TOKEN_SIGNATURE');
    // And a real ES256 token still passes, so the key was usable.
    await verifier.verify(await sign(ec, accessClaims()));
  });

  test('rejects a key of another issuer with a known kid', async () => {
    await rejectsWith(accessVerifier(server).verify(await sign(attacker, accessClaims())), 'ERR_TOKEN_SIGNATURE');
  });

  test('rejects a signature by the right key over other claims (swapped signature)', async () => {
    const [h, p] = (await sign(rsa, accessClaims({ sub: 'victim' }))).split('.');
    const [, , s] = (await sign(rsa, accessClaims({ sub: 'attacker' }))).split('.');
    await rejectsWith(accessVerifier(server).verify(`${h}.${p}.${s}`), 'ERR_TOKEN_SIGNATURE');
  });
});

describe('rejects headers that bring their own key', () => {
  test('rejects an embedded jwk header with the attacker key', async () => {
    await rejectsWith(accessVerifier(server).verify(await sign(attacker, accessClaims(), { jwk: attacker.jwk })), 'ERR_TOKEN_HEADER', '"jwk"');
    await rejectsWith(accessVerifier(server).verify(await sign(attacker, accessClaims(), { kid: undefined, jwk: attacker.jwk })), 'ERR_TOKEN_HEADER');
    assert.equal(server.fetches, 0);
  });

  test('rejects a jku header pointing at the attacker JWKS', async () => {
    await rejectsWith(accessVerifier(server).verify(await sign(attacker, accessClaims(), { jku: attackerServer.url })), 'ERR_TOKEN_HEADER', '"jku"');
    assert.equal(attackerServer.fetches, 0, 'the attacker JWKS is never fetched');
    assert.equal(server.fetches, 0);
  });

  test('rejects an x5u header pointing at the attacker', async () => {
    await rejectsWith(accessVerifier(server).verify(await sign(attacker, accessClaims(), { x5u: attackerServer.url })), 'ERR_TOKEN_HEADER', '"x5u"');
    assert.equal(attackerServer.fetches, 0);
  });

  test('rejects an x5c header carrying attacker key material', async () => {
    const der = KeyObject.from(attacker.publicKey).export({ type: 'spki', format: 'der' }).toString('base64');
    await rejectsWith(accessVerifier(server).verify(await sign(attacker, accessClaims(), { x5c: [der] })), 'ERR_TOKEN_HEADER', '"x5c"');
    assert.equal(server.fetches, 0);
  });

  test('rejects an unknown crit extension', async () => {
    await rejectsWith(accessVerifier(server).verify(signRaw(rsa, header({ crit: ['exp'], exp: 1 }), accessClaims())), 'ERR_TOKEN_HEADER', '"crit"');
    await rejectsWith(accessVerifier(server).verify(signRaw(rsa, header({ crit: ['urn:example:x'], 'urn:example:x': true }), accessClaims())), 'ERR_TOKEN_HEADER');
  });

  test('rejects b64:false', async () => {
    const claims = JSON.stringify(accessClaims());
    // The payload is still base64url here, so only the header decides; with and without crit.
    await rejectsWith(accessVerifier(server).verify(signRaw(rsa, header({ b64: false, crit: ['b64'] }), claims)), 'ERR_TOKEN_HEADER');
    await rejectsWith(accessVerifier(server).verify(signRaw(rsa, header({ b64: false }), claims)), 'ERR_TOKEN_HEADER', '"b64"');
  });

  for (const kid of ['', '../../dev/null', '/dev/null', '|sleep 10', "x' UNION SELECT '1';--"]) {
    test(`rejects kid ${JSON.stringify(kid)}`, async () => {
      const verifier = accessVerifier(server);
      await rejectsWith(verifier.verify(await sign(attacker, accessClaims(), { kid })), 'ERR_TOKEN_KEY_NOT_FOUND');
      // The classic payloads pair such a kid with HS256 and an empty or /dev/null key.
      await rejectsWith(verifier.verify(hmacToken(header({ alg: 'HS256', kid }), accessClaims(), '')), 'ERR_TOKEN_ALG');
      assert.ok(server.fetches <= 2, `fetches ${server.fetches}`);
    });
  }

  test('rejects a kid that is not a string', async () => {
    for (const kid of [1, ['rsa-1'], { $ne: null }, null]) {
      await rejectsWith(accessVerifier(server).verify(signRaw(rsa, header({ kid }), accessClaims())), 'ERR_TOKEN_HEADER');
    }
  });
});

describe('rejects unknown keys with a bounded number of JWKS fetches', () => {
  test('rejects an unknown kid after one JWKS refetch', async () => {
    const keySource = createKeySource({ jwksUri: server.url, cooldownMs: 0 });
    const verifier = accessVerifier(server, { keySource });
    await verifier.verify(await sign(rsa, accessClaims()));
    assert.equal(server.fetches, 1);
    await rejectsWith(verifier.verify(await sign(attacker, accessClaims(), { kid: 'unknown-kid' })), 'ERR_TOKEN_KEY_NOT_FOUND', 'unknown-kid');
    assert.equal(server.fetches, 2, 'initial fetch + exactly one refetch');
  });

  test('does not refetch a key set less than a second old for an unknown kid', async () => {
    const verifier = accessVerifier(server); // default cooldown 30 s
    await verifier.verify(await sign(rsa, accessClaims()));
    await rejectsWith(verifier.verify(await sign(attacker, accessClaims(), { kid: 'unknown-kid' })), 'ERR_TOKEN_KEY_NOT_FOUND');
    assert.equal(server.fetches, 1);
  });

  test('an unknown kid right after start-up refetches once, then not again within the cooldown', async () => {
    const verifier = accessVerifier(server); // default cooldown 30 s
    await verifier.verify(await sign(rsa, accessClaims()));
    const restore = shiftClock(2_000); // a rotation 2 s after the first load
    try {
      await rejectsWith(verifier.verify(await sign(attacker, accessClaims(), { kid: 'unknown-kid' })), 'ERR_TOKEN_KEY_NOT_FOUND');
      assert.equal(server.fetches, 2);
      await rejectsWith(verifier.verify(await sign(attacker, accessClaims(), { kid: 'other-kid' })), 'ERR_TOKEN_KEY_NOT_FOUND');
      assert.equal(server.fetches, 2);
    } finally {
      restore();
    }
  });

  test('a flood of 200 random kids causes at most one refetch', async () => {
    const verifier = accessVerifier(server);
    await verifier.verify(await sign(rsa, accessClaims()));
    const flood = await Promise.all(Array.from({ length: 200 }, () => sign(attacker, accessClaims(), { kid: randomUUID() })));
    const results = await Promise.allSettled(flood.map((token) => verifier.verify(token)));
    assert.ok(results.every((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'ERR_TOKEN_KEY_NOT_FOUND'));
    assert.ok(server.fetches <= 2, `fetches ${server.fetches}`);
  });

  test('a flood of 200 random kids at start-up shares the first fetch', async () => {
    const verifier = accessVerifier(server);
    const flood = await Promise.all(Array.from({ length: 200 }, () => sign(attacker, accessClaims(), { kid: randomUUID() })));
    await Promise.allSettled(flood.map((token) => verifier.verify(token)));
    assert.equal(server.fetches, 1);
  });
});

describe('rejects bad claims', () => {
  test('rejects a token without exp', async () => {
    await rejectsWith(accessVerifier(server).verify(await sign(rsa, accessClaims({ exp: undefined }))), 'ERR_TOKEN_CLAIM', '"exp"');
  });

  test('rejects a token with a non-numeric exp', async () => {
    await rejectsWith(accessVerifier(server).verify(await sign(rsa, accessClaims({ exp: String(now() + 3600) }))), 'ERR_TOKEN_CLAIM', '"exp"');
  });

  test('rejects an expired token (past exp beyond the tolerance)', async () => {
    await rejectsWith(accessVerifier(server).verify(await sign(rsa, accessClaims({ exp: now() - 31 }))), 'ERR_TOKEN_EXPIRED', '"exp"');
    const verifier = accessVerifier(server, { clockTolerance: 5 });
    await rejectsWith(verifier.verify(await sign(rsa, accessClaims({ exp: now() - 10 }))), 'ERR_TOKEN_EXPIRED');
  });

  test('rejects a token at its exp when the tolerance is 0 (reject on or after exp)', async () => {
    const verifier = accessVerifier(server, { clockTolerance: 0 });
    await rejectsWith(verifier.verify(await sign(rsa, accessClaims({ exp: now() }))), 'ERR_TOKEN_EXPIRED');
  });

  test('accepts a token just expired within the clock tolerance', async () => {
    const verifier = accessVerifier(server, { clockTolerance: 5 });
    await verifier.verify(await sign(rsa, accessClaims({ exp: now() - 2 })));
  });

  test('rejects nbf in the future', async () => {
    await rejectsWith(accessVerifier(server).verify(await sign(rsa, accessClaims({ nbf: now() + 300 }))), 'ERR_TOKEN_NOT_YET_VALID', '"nbf"');
  });

  test('accepts nbf in the future within the clock tolerance', async () => {
    await accessVerifier(server, { clockTolerance: 5 }).verify(await sign(rsa, accessClaims({ nbf: now() + 2 })));
  });

  test('rejects iat far in the future', async () => {
    await rejectsWith(accessVerifier(server).verify(await sign(rsa, accessClaims({ iat: now() + 3600 }))), 'ERR_TOKEN_NOT_YET_VALID', '"iat"');
  });

  for (const [name, iss] of [
    ['wrong', 'https://evil.example'],
    ['with a trailing slash', `${ISSUER}/`],
    ['in other case', ISSUER.toUpperCase()],
    ['missing', undefined],
    ['an array', [ISSUER]],
  ] as const) {
    test(`rejects iss ${name}`, async () => {
      await rejectsWith(accessVerifier(server).verify(await sign(rsa, accessClaims({ iss }))), 'ERR_TOKEN_CLAIM', '"iss"');
    });
  }

  test('rejects aud wrong when an audience is expected', async () => {
    await rejectsWith(accessVerifier(server).verify(await sign(rsa, accessClaims({ aud: 'https://api.other.example' }))), 'ERR_TOKEN_CLAIM', '"aud"');
    await rejectsWith(accessVerifier(server).verify(await sign(rsa, accessClaims({ aud: [] }))), 'ERR_TOKEN_CLAIM', '"aud"');
  });

  test('rejects aud missing when an audience is expected', async () => {
    await rejectsWith(accessVerifier(server).verify(await sign(rsa, accessClaims({ aud: undefined }))), 'ERR_TOKEN_CLAIM', '"aud"');
  });

  test('rejects missing sub', async () => {
    await rejectsWith(accessVerifier(server).verify(await sign(rsa, accessClaims({ sub: undefined }))), 'ERR_TOKEN_CLAIM', '"sub"');
    await rejectsWith(accessVerifier(server).verify(await sign(rsa, accessClaims({ sub: '' }))), 'ERR_TOKEN_CLAIM', '"sub"');
    await rejectsWith(accessVerifier(server).verify(await sign(rsa, accessClaims({ sub: 42 }))), 'ERR_TOKEN_CLAIM', '"sub"');
  });

  test('rejects a wrong client_id when one is configured', async () => {
    await rejectsWith(accessVerifier(server).verify(await sign(rsa, accessClaims({ client_id: 'other-app' }))), 'ERR_TOKEN_CLAIM', '"client_id"');
    await rejectsWith(accessVerifier(server).verify(await sign(rsa, accessClaims({ client_id: undefined }))), 'ERR_TOKEN_CLAIM', '"client_id"');
  });

  test('rejects a wrong tid when a tenant is configured', async () => {
    await rejectsWith(accessVerifier(server).verify(await sign(rsa, accessClaims({ tid: 'tenant-2' }))), 'ERR_TOKEN_CLAIM', '"tid"');
    await rejectsWith(accessVerifier(server).verify(await sign(rsa, accessClaims({ tid: undefined }))), 'ERR_TOKEN_CLAIM', '"tid"');
  });

  test('rejects claims of the wrong type (roles, scope)', async () => {
    await rejectsWith(accessVerifier(server).verify(await sign(rsa, accessClaims({ roles: 'admin' }))), 'ERR_TOKEN_CLAIM', '"roles"');
    await rejectsWith(accessVerifier(server).verify(await sign(rsa, accessClaims({ scope: ['openid'] }))), 'ERR_TOKEN_CLAIM', '"scope"');
  });
});

describe('keeps token kinds apart', () => {
  test('rejects an ID token offered as an access token', async () => {
    const token = await sign(rsa, idClaims());
    // Configured like Mosaic: the ID token's aud (the client id) is not the API.
    await rejectsWith(accessVerifier(server).verify(token), 'ERR_TOKEN_CLAIM', '"aud"');
    // Without any audience or client configured, the ID-token-only claims still give it away.
    const bare = accessVerifier(server, { audience: undefined, clientId: undefined, tenantId: undefined });
    await rejectsWith(bare.verify(token), 'ERR_TOKEN_TYPE', '"nonce"');
    await rejectsWith(bare.verify(await sign(rsa, idClaims({ nonce: undefined, at_hash: 'abc' }))), 'ERR_TOKEN_TYPE', '"at_hash"');
  });

  test('rejects an ID token without nonce or at_hash offered as an access token (by aud and client_id)', async () => {
    const token = await sign(rsa, idClaims({ nonce: undefined }));
    await rejectsWith(accessVerifier(server).verify(token), 'ERR_TOKEN_CLAIM', '"aud"');
    await rejectsWith(accessVerifier(server, { audience: undefined }).verify(token), 'ERR_TOKEN_CLAIM', '"client_id"');
  });

  test('rejects a logout token offered as an access token', async () => {
    const claims = logoutClaims({ aud: AUDIENCE, exp: now() + 60, client_id: CLIENT_ID, tid: TENANT_ID });
    await rejectsWith(accessVerifier(server).verify(await sign(rsa, claims, { typ: 'logout+jwt' })), 'ERR_TOKEN_TYPE', '"typ"');
    await rejectsWith(accessVerifier(server).verify(await sign(rsa, claims)), 'ERR_TOKEN_TYPE', '"events"');
  });

  test('rejects other typ values', async () => {
    for (const typ of ['logout+jwt', 'secevent+jwt', 'dpop+jwt', 'JOSE']) {
      await rejectsWith(accessVerifier(server).verify(await sign(rsa, accessClaims(), { typ })), 'ERR_TOKEN_TYPE');
    }
  });

  test('strict mode accepts only typ at+jwt', async () => {
    const verifier = accessVerifier(server, { requireAtJwtType: true });
    await verifier.verify(await sign(rsa, accessClaims(), { typ: 'at+jwt' }));
    await verifier.verify(await sign(rsa, accessClaims(), { typ: 'application/AT+JWT' }));
    await rejectsWith(verifier.verify(await sign(rsa, accessClaims(), { typ: 'JWT' })), 'ERR_TOKEN_TYPE');
    await rejectsWith(verifier.verify(await sign(rsa, accessClaims(), { typ: undefined })), 'ERR_TOKEN_TYPE');
  });
});

describe('verified-token cache', () => {
  test('a second verify of the same token does no signature work', async () => {
    const keySource = countingKeySource(createKeySource({ jwksUri: server.url }));
    const verifier = accessVerifier(server, { keySource });
    const token = await sign(rsa, accessClaims());
    const first = await verifier.verify(token);
    const second = await verifier.verify(token);
    assert.equal(keySource.lookups, 1);
    assert.deepEqual(second, first);
  });

  test('concurrent first verifications of one token share one signature check', async () => {
    const keySource = countingKeySource(createKeySource({ jwksUri: server.url }));
    const verifier = accessVerifier(server, { keySource });
    const token = await sign(rsa, accessClaims());
    await Promise.all(Array.from({ length: 20 }, () => verifier.verify(token)));
    assert.equal(keySource.lookups, 1);
    assert.equal(server.fetches, 1);
  });

  test('an expired cached token is rejected', async () => {
    const keySource = countingKeySource(createKeySource({ jwksUri: server.url }));
    const verifier = accessVerifier(server, { keySource, clockTolerance: 0 });
    // At least 2 s away: `now()` is whole seconds, so `+ 1` can be a few milliseconds from now.
    const exp = now() + 3;
    const token = await sign(rsa, accessClaims({ exp }));
    await verifier.verify(token);
    await sleep(exp * 1000 - Date.now() + 50);
    await rejectsWith(verifier.verify(token), 'ERR_TOKEN_EXPIRED');
    assert.equal(keySource.lookups, 1, 'the cache answered, with a fresh exp check');
  });

  test('with the cache off every verify checks the signature', async () => {
    const keySource = countingKeySource(createKeySource({ jwksUri: server.url }));
    const verifier = accessVerifier(server, { keySource, cache: false });
    const token = await sign(rsa, accessClaims());
    await verifier.verify(token);
    await verifier.verify(token);
    assert.equal(keySource.lookups, 2);
  });

  test('a rejected token is not cached', async () => {
    const keySource = countingKeySource(createKeySource({ jwksUri: server.url }));
    const verifier = accessVerifier(server, { keySource });
    const token = await sign(attacker, accessClaims());
    await rejectsWith(verifier.verify(token), 'ERR_TOKEN_SIGNATURE');
    await rejectsWith(verifier.verify(token), 'ERR_TOKEN_SIGNATURE');
    assert.equal(keySource.lookups, 2);
  });
});

describe('refuses unsafe options', () => {
  const base = () => ({ issuer: ISSUER, jwksUri: server.url });

  for (const algorithms of [['HS256'], ['none'], ['RS256', 'HS512'], ['NONE'], [], ['RS1'], ['rs256']]) {
    test(`refuses algorithms ${JSON.stringify(algorithms)} with a TypeError`, () => {
      assert.throws(() => createAccessTokenVerifier({ ...base(), algorithms }), TypeError);
    });
  }

  test('refuses a clock tolerance outside 0..60 seconds', () => {
    for (const clockTolerance of [-1, 61, Number.NaN, Infinity]) {
      assert.throws(() => createAccessTokenVerifier({ ...base(), clockTolerance }), TypeError);
    }
    createAccessTokenVerifier({ ...base(), clockTolerance: 60 });
  });

  test('refuses a missing issuer, a non-http JWKS URL and a keySource for another JWKS', () => {
    assert.throws(() => createAccessTokenVerifier({ ...base(), issuer: '' }), TypeError);
    assert.throws(() => createAccessTokenVerifier({ issuer: ISSUER, jwksUri: 'file:///etc/passwd' }), TypeError);
    const keySource = createKeySource({ jwksUri: 'https://idp.example/jwks' });
    assert.throws(() => createAccessTokenVerifier({ ...base(), keySource }), TypeError);
  });
});
