// The signature and header attacks, run against every kind of token (access, ID, logout):
// they share one pipeline, and this proves each verifier is wired to it.
import * as assert from 'node:assert/strict';
import { KeyObject } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { TokenErrorCode } from '../../src/tokens/index.js';
import { startJwksServer, type JwksServer } from '../helpers/jwks-server.js';
import {
  accessClaims, accessVerifier, b64, hmacToken, idClaims, idVerifier, jwks, logoutClaims, logoutVerifier, makeKey, rejectsWith, sign,
  signRaw, type TestKey,
} from './fixtures.js';

let rsa: TestKey;
let attacker: TestKey;
let ec: TestKey;
let server: JwksServer;

before(async () => {
  [rsa, attacker, ec] = await Promise.all([makeKey('RS256', 'rsa-1'), makeKey('RS256', 'rsa-1'), makeKey('ES256', 'ec-1')]);
  server = await startJwksServer(jwks(rsa, ec));
});
after(() => server.close());

interface Kind {
  name: string;
  claims: () => Record<string, unknown>;
  verify: (token: unknown) => Promise<unknown>;
}

const kinds: Kind[] = [
  { name: 'access token', claims: () => accessClaims(), verify: (t) => accessVerifier(server).verify(t) },
  { name: 'ID token', claims: () => idClaims(), verify: (t) => idVerifier(server).verify(t, { nonce: 'nonce-1' }) },
  { name: 'logout token', claims: () => logoutClaims(), verify: (t) => logoutVerifier(server).verify(t) },
];

const h = (extra: Record<string, unknown> = {}) => ({ alg: 'RS256', kid: 'rsa-1', ...extra });
const fakeSig = b64(new Uint8Array(256).fill(1));

const attacks: Array<[string, TokenErrorCode, (claims: Record<string, unknown>) => Promise<string> | string]> = [
  ['alg "none"', 'ERR_TOKEN_ALG', (c) => `${b64({ alg: 'none' })}.${b64(c)}.${fakeSig}`],
  ['alg "None"', 'ERR_TOKEN_ALG', (c) => `${b64({ alg: 'None' })}.${b64(c)}.${fakeSig}`],
  ['alg "NONE"', 'ERR_TOKEN_ALG', (c) => `${b64({ alg: 'NONE' })}.${b64(c)}.${fakeSig}`],
  ['alg "nOnE"', 'ERR_TOKEN_ALG', (c) => `${b64({ alg: 'nOnE' })}.${b64(c)}.${fakeSig}`],
  ['a stripped signature', 'ERR_TOKEN_MALFORMED', async (c) => (await sign(rsa, c)).replace(/[^.]+$/, '')],
  ['tampered claims with the old signature', 'ERR_TOKEN_SIGNATURE', async (c) => {
    const [head, , sig] = (await sign(rsa, c)).split('.');
    return `${head}.${b64({ ...c, sub: 'admin' })}.${sig}`;
  }],
  ['HS256 signed with the RSA public key', 'ERR_TOKEN_ALG', (c) => hmacToken(h({ alg: 'HS256' }), c, KeyObject.from(rsa.publicKey).export({ type: 'spki', format: 'pem' }))],
  ['an embedded jwk header', 'ERR_TOKEN_HEADER', (c) => sign(attacker, c, { jwk: attacker.jwk })],
  ['a jku header', 'ERR_TOKEN_HEADER', (c) => sign(attacker, c, { jku: 'https://evil.example/jwks' })],
  ['an x5u header', 'ERR_TOKEN_HEADER', (c) => sign(attacker, c, { x5u: 'https://evil.example/cert.pem' })],
  ['an x5c header', 'ERR_TOKEN_HEADER', (c) => sign(attacker, c, { x5c: [KeyObject.from(attacker.publicKey).export({ type: 'spki', format: 'der' }).toString('base64')] })],
  ['kid "../../dev/null"', 'ERR_TOKEN_KEY_NOT_FOUND', (c) => sign(attacker, c, { kid: '../../dev/null' })],
  ['a key of another issuer with a known kid', 'ERR_TOKEN_SIGNATURE', (c) => sign(attacker, c)],
  ['PS256 when only RS256 is allowed', 'ERR_TOKEN_ALG', (c) => signRaw(rsa, h({ alg: 'PS256' }), c, 'PS256')],
  ['ES256 when only RS256 is allowed', 'ERR_TOKEN_ALG', (c) => sign(ec, c)],
  ['an unknown crit', 'ERR_TOKEN_HEADER', (c) => signRaw(rsa, h({ crit: ['urn:x'], 'urn:x': 1 }), c)],
  ['b64:false', 'ERR_TOKEN_HEADER', (c) => signRaw(rsa, h({ b64: false }), c)],
  ['4 segments', 'ERR_TOKEN_MALFORMED', async (c) => `${await sign(rsa, c)}.AAAA`],
  ['a padded segment', 'ERR_TOKEN_MALFORMED', async (c) => `${await sign(rsa, c)}==`],
  ['a header that is not a JSON object', 'ERR_TOKEN_MALFORMED', (c) => `${b64('["RS256"]')}.${b64(c)}.${fakeSig}`],
  ['a 17 KB token', 'ERR_TOKEN_MALFORMED', (c) => sign(rsa, { ...c, filler: 'x'.repeat(17 * 1024) })],
];

for (const kind of kinds) {
  describe(kind.name, () => {
    test(`accepts a valid ${kind.name}`, async () => {
      assert.ok(await kind.verify(await sign(rsa, kind.claims())));
    });
    for (const [attack, code, craft] of attacks) {
      test(`${kind.name}: rejects ${attack}`, async () => {
        await rejectsWith(kind.verify(await craft(kind.claims())), code);
      });
    }
  });
}
