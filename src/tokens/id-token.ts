import { createHash } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { keyFamily, resolveAlgorithms, resolveClockTolerance, type JwsAlgorithm } from './algorithms.js';
import {
  checkAudienceShape, checkIssuedAt, deepFreeze, nowSeconds, optionalNumber, optionalString, optionalStringArray,
  rejectForeignClaims, requireString,
} from './claims.js';
import type { Logger } from '../observability/log.js';
import { rejectToken, tokenError } from './errors.js';
import { assertCompactJws } from './format.js';
import type { TypRule } from './header.js';
import { resolveKeySource, type KeySource } from './keys.js';
import { requireOption } from './options.js';
import { verifyJwt } from './verify-jwt.js';

/** Keys from `keySource` (shared) or from `jwksUri` (a source of its own). */
export type KeySourceOption =
  | { keySource: KeySource; jwksUri?: string | URL; fetch?: undefined }
  | { keySource?: undefined; jwksUri: string | URL; fetch?: typeof fetch };

export type IdTokenVerifierOptions = KeySourceOption & {
  /** Expected `iss`, exact string. */
  issuer: string;
  /** This client's id: `aud` must contain it, and `azp` must equal it. */
  clientId: string;
  /** Allowed `alg` values; default `['RS256']`. */
  algorithms?: string[];
  /** Seconds, 0–60, default 30. */
  clockTolerance?: number;
  /** Where rejections (info, debug) and JWKS failures (warn) are logged, never with the token; default nowhere. */
  logger?: Logger;
};

export interface IdTokenVerifyOptions {
  /** The nonce sent in the authorization request; the token's `nonce` must equal it. */
  nonce?: string;
  /** The access token issued with the ID token; checked against `at_hash` when the token has one. */
  accessToken?: string;
  /** The `max_age` (seconds) sent in the authorization request; `auth_time` is then required. */
  maxAge?: number;
}

export interface IdTokenClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  auth_time?: number;
  nonce?: string;
  acr?: string;
  amr?: string[];
  azp?: string;
  at_hash?: string;
  sid?: string;
  tid?: string;
  [claim: string]: unknown;
}

export interface IdTokenVerifier {
  verify(token: unknown, options?: IdTokenVerifyOptions): Promise<IdTokenClaims>;
}

const ID_TYP: TypRule = [undefined, 'jwt'];
const EXPECTED = 'an ID token';

/**
 * Verifies ID tokens per OIDC Core §3.1.3.7: signature with an allowed `alg`, `iss` exact, `aud`
 * contains the client id, `azp` equals it when present (required with several audiences),
 * `exp`, `iat` (required, not in the future), `nonce` when one was sent, `at_hash` when present
 * and the access token is given, `auth_time` with `maxAge`. Access tokens are refused by `aud`
 * (theirs is the API, e.g. Mosaic's `userid-api`) and by `typ` (`at+jwt`); logout tokens by
 * `typ` (`logout+jwt`) and `events`.
 */
export function createIdTokenVerifier(options: IdTokenVerifierOptions): IdTokenVerifier {
  const issuer = requireOption(options.issuer, 'issuer');
  const clientId = requireOption(options.clientId, 'clientId');
  const algorithms = resolveAlgorithms(options.algorithms);
  const clockTolerance = resolveClockTolerance(options.clockTolerance);
  const keySource = resolveKeySource(options);
  const rules = {
    issuer, audience: clientId, algorithms, clockTolerance, typ: ID_TYP, keySource, expected: EXPECTED,
    requiredClaims: ['exp', 'iat', 'sub'],
  };

  const checkClaims = (payload: JWTPayload, alg: JwsAlgorithm, verifyOptions: IdTokenVerifyOptions): IdTokenClaims => {
    rejectForeignClaims(payload, ['events'], EXPECTED, 'a logout token');
    requireString(payload, 'sub');
    checkAudienceShape(payload);
    checkIssuedAt(payload, clockTolerance);
    for (const name of ['acr', 'sid', 'tid']) optionalString(payload, name);
    optionalStringArray(payload, 'amr');

    const azp = optionalString(payload, 'azp');
    if (Array.isArray(payload.aud) && payload.aud.length > 1 && azp === undefined) {
      throw tokenError('ERR_TOKEN_CLAIM', 'token "azp" claim is missing (required with several audiences)');
    }
    if (azp !== undefined && azp !== clientId) throw tokenError('ERR_TOKEN_CLAIM', 'token "azp" claim is not this client');

    const nonce = optionalString(payload, 'nonce');
    if (verifyOptions.nonce !== undefined && nonce !== verifyOptions.nonce) {
      throw tokenError('ERR_TOKEN_CLAIM', nonce === undefined ? 'token "nonce" claim is missing' : 'token "nonce" claim does not match');
    }

    const atHash = optionalString(payload, 'at_hash');
    if (atHash !== undefined && verifyOptions.accessToken !== undefined && atHash !== accessTokenHash(verifyOptions.accessToken, alg)) {
      throw tokenError('ERR_TOKEN_CLAIM', 'token "at_hash" claim does not match the access token');
    }

    const authTime = optionalNumber(payload, 'auth_time');
    if (verifyOptions.maxAge !== undefined) {
      if (authTime === undefined) throw tokenError('ERR_TOKEN_CLAIM', 'token "auth_time" claim is missing (required with max_age)');
      if (authTime + verifyOptions.maxAge < nowSeconds() - clockTolerance) {
        const stale = tokenError('ERR_TOKEN_CLAIM', 'token "auth_time" claim is older than max_age');
        staleAuthentications.add(stale);
        throw stale;
      }
    }
    return payload as IdTokenClaims;
  };

  return {
    async verify(token, verifyOptions = {}) {
      checkVerifyOptions(verifyOptions);
      try {
        const jwt = assertCompactJws(token);
        const { payload, header } = await verifyJwt(jwt, rules);
        return deepFreeze(checkClaims(payload, header.alg, verifyOptions));
      } catch (err) {
        throw rejectToken('ID token', err, options.logger);
      }
    },
  };
}

/** Rejections of a well-formed `auth_time` older than `maxAge` allows (see `isStaleAuthentication`). */
const staleAuthentications = new WeakSet<object>();

/**
 * Whether `err`, thrown by `verify`, says only that the user authenticated longer ago than the
 * `maxAge` option allows: a valid token that needs a fresh sign-in (step-up), not a bad one.
 * A missing `auth_time` with `maxAge` is not this: that token is refused as malformed.
 */
export function isStaleAuthentication(err: unknown): boolean {
  return typeof err === 'object' && err !== null && staleAuthentications.has(err);
}

/** OIDC Core §3.1.3.6: base64url of the left half of the hash of the access token's ASCII. */
export function accessTokenHash(accessToken: string, alg: JwsAlgorithm): string {
  const digest = createHash(keyFamily(alg).hash).update(accessToken, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

function checkVerifyOptions(options: IdTokenVerifyOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('verify options must be an object');
  if (options.nonce !== undefined) requireOption(options.nonce, 'nonce');
  if (options.accessToken !== undefined) requireOption(options.accessToken, 'accessToken');
  const { maxAge } = options;
  if (maxAge !== undefined && (typeof maxAge !== 'number' || !Number.isFinite(maxAge) || maxAge < 0)) {
    throw new TypeError('"maxAge" option must be a non-negative number of seconds');
  }
}
