/**
 * Test fixtures for token verification: real keys (jose / node:crypto), tokens signed by jose,
 * and hand-crafted tokens (base64url of JSON, signed with node:crypto) for the attacks jose's
 * signer refuses to produce.
 */
import * as assert from 'node:assert/strict';
import { createHmac, KeyObject, randomUUID, sign as cryptoSign, constants } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { TesseraError } from '../../src/errors.js';
import {
  BACKCHANNEL_LOGOUT_EVENT, createAccessTokenVerifier, createIdTokenVerifier, createLogoutTokenVerifier,
  type AccessTokenVerifierOptions, type KeySource, type TokenErrorCode,
} from '../../src/tokens/index.js';
import type { JwksServer } from '../helpers/jwks-server.js';

export const ISSUER = 'https://userid.security';
export const AUDIENCE = 'userid-api';
export const CLIENT_ID = 'app-client-1';
export const TENANT_ID = 'tenant-1';

export interface TestKey {
  alg: string;
  kid: string | undefined;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public JWK as an IdP would publish it (kid, use "sig", alg). */
  jwk: JWK;
}

export async function makeKey(alg: string, kid: string | undefined, jwkExtra: Partial<JWK> = {}): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), use: 'sig', alg, ...jwkExtra };
  if (kid !== undefined) jwk.kid = kid;
  return { alg, kid, privateKey, publicKey, jwk };
}

export const jwks = (...keys: TestKey[]): { keys: JWK[] } => ({ keys: keys.map((k) => k.jwk) });

export const now = (): number => Math.floor(Date.now() / 1000);

/** Signs with jose, header `{ alg, kid }` plus `header` (an `undefined` member removes it). */
export async function sign(key: TestKey, payload: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const protectedHeader = Object.fromEntries(
    Object.entries({ alg: key.alg, kid: key.kid, ...header }).filter(([, v]) => v !== undefined),
  ) as { alg: string };
  return new SignJWT(payload).setProtectedHeader(protectedHeader).sign(key.privateKey);
}

export function b64(value: string | Uint8Array | object): string {
  if (typeof value === 'string') return Buffer.from(value, 'utf8').toString('base64url');
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64url');
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** The node:crypto signature of `signingInput` for a JWS `alg` (test-side signer). */
export function rawSignature(key: TestKey, alg: string, signingInput: string): Buffer {
  const privateKey = KeyObject.from(key.privateKey);
  const data = Buffer.from(signingInput, 'ascii');
  const bits = alg.slice(-3);
  if (alg === 'EdDSA') return cryptoSign(null, data, privateKey);
  if (alg.startsWith('ES')) return cryptoSign(`sha${bits}`, data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  if (alg.startsWith('PS')) {
    return cryptoSign(`sha${bits}`, data, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(bits) / 8 });
  }
  return cryptoSign(`sha${bits}`, data, privateKey);
}

/** A token whose header and payload segments are exactly what the test says, properly signed. */
export function signRaw(key: TestKey, header: string | object, payload: string | Uint8Array | object, alg = key.alg): string {
  const signingInput = `${b64(header)}.${b64(payload)}`;
  return `${signingInput}.${rawSignature(key, alg, signingInput).toString('base64url')}`;
}

/** HS256 over the token with `secret` as the HMAC key (the algorithm-confusion attack). */
export function hmacToken(header: object, payload: object, secret: string | Buffer): string {
  const signingInput = `${b64(header)}.${b64(payload)}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

export function accessClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const t = now();
  return {
    iss: ISSUER, sub: 'user-1', aud: AUDIENCE, iat: t, exp: t + 3600, scope: 'openid email',
    roles: ['admin', 'user'], tid: TENANT_ID, client_id: CLIENT_ID, app_name: 'Demo', app_id: 'app-1', jti: randomUUID(),
    ...overrides,
  };
}

export function idClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const t = now();
  return {
    iss: ISSUER, sub: 'user-1', aud: CLIENT_ID, iat: t, exp: t + 3600, auth_time: t - 5, nonce: 'nonce-1',
    tid: TENANT_ID, acr: 'mfa', amr: ['pwd', 'mfa'],
    ...overrides,
  };
}

export function logoutClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: ISSUER, aud: CLIENT_ID, iat: now(), jti: randomUUID(), sub: 'user-1', sid: 'idp-session-1',
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    ...overrides,
  };
}

/** An access token verifier configured like Tessera configures it for Mosaic. */
export function accessVerifier(server: JwksServer, options: Partial<AccessTokenVerifierOptions> = {}) {
  return createAccessTokenVerifier({
    issuer: ISSUER, jwksUri: server.url, audience: AUDIENCE, clientId: CLIENT_ID, tenantId: TENANT_ID, ...options,
  });
}

export function idVerifier(server: JwksServer, options: { keySource?: KeySource; algorithms?: string[]; clockTolerance?: number } = {}) {
  const { keySource, ...rest } = options;
  return keySource === undefined
    ? createIdTokenVerifier({ issuer: ISSUER, clientId: CLIENT_ID, jwksUri: server.url, ...rest })
    : createIdTokenVerifier({ issuer: ISSUER, clientId: CLIENT_ID, keySource, ...rest });
}

/** A logout verifier with an in-memory jti memory; `seen` holds what it remembered. */
export function logoutVerifier(server: JwksServer, options: { algorithms?: string[]; maxAgeSeconds?: number; clockTolerance?: number } = {}) {
  const seen = new Map<string, number>();
  const verifier = createLogoutTokenVerifier({
    issuer: ISSUER, clientId: CLIENT_ID, jwksUri: server.url, ...options,
    rememberJti: async (jti, ttlMs) => {
      if (seen.has(jti)) return false;
      seen.set(jti, ttlMs);
      return true;
    },
  });
  return Object.assign(verifier, { seen });
}

/** Asserts a rejection with a TesseraError of `code` (and its HTTP status). */
export async function rejectsWith(promise: Promise<unknown>, code: TokenErrorCode, messageIncludes?: string): Promise<TesseraError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `expected ${code}, but the token was accepted`);
  assert.ok(caught instanceof TesseraError, `expected a TesseraError, got ${String(caught)}`);
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`);
  assert.equal(caught.status, code === 'ERR_TOKEN_JWKS_UNAVAILABLE' ? 503 : 401);
  if (messageIncludes !== undefined) assert.ok(caught.message.includes(messageIncludes), `message "${caught.message}" should mention ${messageIncludes}`);
  return caught;
}

/** A key source that counts key lookups (each one precedes a signature check). */
export function countingKeySource(inner: KeySource): KeySource & { lookups: number } {
  const counter = {
    jwksUri: inner.jwksUri,
    lookups: 0,
    getKey(header: Parameters<KeySource['getKey']>[0]) {
      counter.lookups += 1;
      return inner.getKey(header);
    },
  };
  return counter;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
