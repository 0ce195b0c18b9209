// Property tests: whatever comes in, only a TesseraError with an ERR_TOKEN_* code comes out.
import * as assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as fc from 'fast-check';
import { isTesseraError } from '../../src/errors.js';
import { createKeySource } from '../../src/tokens/index.js';
import { startJwksServer, type JwksServer } from '../helpers/jwks-server.js';
import {
  accessClaims, accessVerifier, b64, idClaims, idVerifier, jwks, logoutClaims, logoutVerifier, makeKey, sign, type TestKey,
} from './fixtures.js';

const RUNS = 300;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

let rsa: TestKey;
let ec: TestKey;
let server: JwksServer;
let verifiers: Array<(token: unknown) => Promise<unknown>>;
let validTokens: Array<{ token: string; verify: (token: unknown) => Promise<unknown> }>;

before(async () => {
  [rsa, ec] = await Promise.all([makeKey('RS256', 'rsa-1'), makeKey('ES256', 'ec-1')]);
  server = await startJwksServer(jwks(rsa, ec));
  // One key source with the default 30 s cooldown: random kids must not hammer the JWKS.
  const keySource = createKeySource({ jwksUri: server.url });
  const access = accessVerifier(server, { keySource, algorithms: ['RS256', 'ES256'] });
  const id = idVerifier(server, { keySource, algorithms: ['RS256', 'ES256'] });
  const logout = logoutVerifier(server, { algorithms: ['RS256', 'ES256'] });
  verifiers = [(t) => access.verify(t), (t) => id.verify(t, { nonce: 'nonce-1' }), (t) => logout.verify(t)];
  validTokens = [
    { token: await sign(rsa, accessClaims()), verify: verifiers[0] ?? assert.fail() },
    { token: await sign(ec, accessClaims()), verify: verifiers[0] ?? assert.fail() },
    { token: await sign(rsa, idClaims()), verify: verifiers[1] ?? assert.fail() },
    { token: await sign(rsa, logoutClaims()), verify: verifiers[2] ?? assert.fail() },
  ];
  // Sanity: the originals are valid (the logout one is not verified, to keep its jti unused).
  await verifiers[0]?.(validTokens[0]?.token);
  await verifiers[1]?.(validTokens[2]?.token);
});
after(() => server.close());

async function onlyTokenErrors(verify: (token: unknown) => Promise<unknown>, input: unknown): Promise<void> {
  try {
    await verify(input);
  } catch (err) {
    assert.ok(isTesseraError(err, 'ERR_TOKEN_'), `unexpected error ${String(err)}`);
    assert.ok(err.status === 401 || err.status === 503);
    return;
  }
  assert.fail(`accepted ${JSON.stringify(input)?.slice(0, 200)}`);
}

const verifierIndex = () => fc.integer({ min: 0, max: 2 });

test('arbitrary values and strings are rejected with ERR_TOKEN_*', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(fc.anything(), fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: fc.constantFrom(...ALPHABET, '.', '='), maxLength: 400 })),
      verifierIndex(),
      async (input, i) => onlyTokenErrors(verifiers[i] ?? assert.fail(), input),
    ),
    { numRuns: RUNS },
  );
});

test('well-formed compact JWS with arbitrary headers, payloads and signatures are rejected with ERR_TOKEN_*', async () => {
  const header = fc.record(
    {
      alg: fc.oneof(fc.constantFrom('RS256', 'ES256', 'PS256', 'HS256', 'none', 'nOnE', 'EdDSA', ''), fc.string()),
      kid: fc.oneof(fc.constantFrom('rsa-1', 'ec-1', '', '../../dev/null'), fc.string(), fc.integer()),
      typ: fc.constantFrom('JWT', 'at+jwt', 'logout+jwt', 'x'),
      crit: fc.array(fc.string()),
      b64: fc.boolean(),
      jwk: fc.constant(rsa.jwk),
    },
    { requiredKeys: [] },
  );
  const payload = fc.oneof(
    fc.jsonValue(),
    fc.record({ iss: fc.string(), sub: fc.string(), aud: fc.string(), exp: fc.integer(), iat: fc.integer(), nonce: fc.string() }, { requiredKeys: [] }),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(header, fc.jsonValue()),
      payload,
      fc.uint8Array({ minLength: 1, maxLength: 300 }),
      verifierIndex(),
      async (h, p, sig, i) => onlyTokenErrors(verifiers[i] ?? assert.fail(), `${b64(JSON.stringify(h) ?? 'null')}.${b64(JSON.stringify(p) ?? 'null')}.${b64(sig)}`),
    ),
    { numRuns: RUNS },
  );
});

test('any mutation of a valid token is rejected with ERR_TOKEN_*', async () => {
  const mutation = fc.record({
    which: fc.integer({ min: 0, max: 3 }),
    op: fc.constantFrom('replace', 'insert', 'delete', 'truncate', 'swap-segments', 'append'),
    at: fc.nat(),
    ch: fc.constantFrom(...ALPHABET, '.', '=', '+', '/', ' ', '\u00e9', '\u0000'),
  });
  await fc.assert(
    fc.asyncProperty(mutation, async ({ which, op, at, ch }) => {
      const original = validTokens[which] ?? assert.fail();
      const t = original.token;
      const i = at % t.length;
      const parts = t.split('.');
      const mutated = {
        replace: t.slice(0, i) + ch + t.slice(i + 1),
        insert: t.slice(0, i) + ch + t.slice(i),
        delete: t.slice(0, i) + t.slice(i + 1),
        truncate: t.slice(0, i),
        'swap-segments': [parts[1], parts[0], parts[2]].join('.'),
        append: t + ch,
      }[op];
      fc.pre(mutated !== t);
      await onlyTokenErrors(original.verify, mutated);
    }),
    { numRuns: RUNS },
  );
  assert.ok(server.fetches <= 3, `JWKS fetches ${server.fetches}`);
});
