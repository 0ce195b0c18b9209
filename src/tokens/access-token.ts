import type { JWTPayload } from 'jose';
import { silentLogger, type Logger } from '../observability/log.js';
import { resolveAlgorithms, resolveClockTolerance } from './algorithms.js';
import { createVerifiedTokenCache, type VerifiedTokenCache } from './cache.js';
import {
  checkAudienceShape, checkIssuedAt, deepFreeze, optionalString, optionalStringArray, rejectForeignClaims, requireString,
} from './claims.js';
import { rejectToken, tokenError } from './errors.js';
import { assertCompactJws } from './format.js';
import type { TypRule } from './header.js';
import { resolveKeySource, type KeySource } from './keys.js';
import { audienceOption, requireOption } from './options.js';
import { verifyJwt } from './verify-jwt.js';

export interface AccessTokenVerifierOptions {
  /** Expected `iss`, compared as an exact string (no trailing-slash or case folding). */
  issuer: string;
  jwksUri: string | URL;
  /**
   * Expected audience: the token's `aud` must contain it (or one of them). Mosaic's default is
   * `userid-api`, or the `resource` requested at login. When omitted, `aud` is NOT checked —
   * then configure `clientId`, or an ID token for your client could pass as an access token.
   */
  audience?: string | string[];
  /** When set, the `client_id` claim must equal it. */
  clientId?: string;
  /** When set, the `tid` claim must equal it. */
  tenantId?: string;
  /** Allowed `alg` values; default `['RS256']`. HS* and `none` are refused (TypeError). */
  algorithms?: string[];
  /** Seconds of clock skew allowed for `exp`, `nbf` and `iat`; 0–60, default 30. */
  clockTolerance?: number;
  /** RFC 9068 strict mode: the `typ` header must be `at+jwt` (or `application/at+jwt`). */
  requireAtJwtType?: boolean;
  /** Share one JWKS source between verifiers (it must be for `jwksUri`). */
  keySource?: KeySource;
  /** Verified-token cache; default on with at most 10 000 entries. */
  cache?: { max?: number } | false;
  fetch?: typeof fetch;
  /** Where rejections (info, debug) and JWKS failures (warn) are logged, never with the token; default nowhere. */
  logger?: Logger;
}

export interface AccessTokenClaims {
  sub: string;
  iss: string;
  aud?: string | string[];
  exp: number;
  iat?: number;
  nbf?: number;
  scope?: string;
  roles?: string[];
  tid?: string;
  client_id?: string;
  jti?: string;
  [claim: string]: unknown;
}

export interface AccessTokenVerifier {
  /**
   * The token's claims (deeply frozen), or a `TesseraError` whose code starts with `ERR_TOKEN_`.
   * A token already verified comes from the cache; its `exp` is still checked on every call.
   */
  verify(token: unknown): Promise<AccessTokenClaims>;
}

const LENIENT_TYP: TypRule = [undefined, 'jwt', 'at+jwt'];
const STRICT_TYP: TypRule = ['at+jwt'];
const EXPECTED = 'an access token';
/** Claims only ID tokens carry (OIDC Core §2, §3.1.3.6, §3.3.2.11). */
const ID_TOKEN_CLAIMS = ['nonce', 'at_hash', 'c_hash', 's_hash'];
/** The Security Event Token claim of logout tokens (Back-Channel Logout §2.4). */
const LOGOUT_TOKEN_CLAIMS = ['events'];

/**
 * Verifies JWT access tokens (RFC 9068 and Mosaic's guideline): signature from the JWKS with an
 * allowed `alg`, `iss` exact, `exp` required, `nbf`, `iat` not in the future, `sub` required,
 * `aud`/`client_id`/`tid` when configured. ID and logout tokens are refused (`ERR_TOKEN_TYPE`)
 * by their `typ`, by the claims only they carry (`nonce`, `at_hash`, `c_hash`, `s_hash`,
 * `events`), and — the discriminator that needs no cooperation from the IdP — by `aud`
 * (an ID token's audience is the client id) and `client_id` when those are configured.
 */
export function createAccessTokenVerifier(options: AccessTokenVerifierOptions): AccessTokenVerifier {
  const issuer = requireOption(options.issuer, 'issuer');
  const audience = audienceOption(options.audience);
  const clientId = options.clientId === undefined ? undefined : requireOption(options.clientId, 'clientId');
  const tenantId = options.tenantId === undefined ? undefined : requireOption(options.tenantId, 'tenantId');
  const algorithms = resolveAlgorithms(options.algorithms);
  const clockTolerance = resolveClockTolerance(options.clockTolerance);
  const keySource = resolveKeySource(options);
  const logger = options.logger ?? silentLogger;
  const cache = options.cache === false ? undefined : createVerifiedTokenCache<AccessTokenClaims>(options.cache ?? {});
  const typ = options.requireAtJwtType === true ? STRICT_TYP : LENIENT_TYP;
  if (audience === undefined && clientId === undefined) {
    logger.warn({ issuer }, 'access token verifier has neither "audience" nor "clientId": tokens for other audiences are accepted');
  }

  const rules = {
    issuer, audience, algorithms, clockTolerance, typ, keySource, expected: EXPECTED, requiredClaims: ['exp', 'sub'],
  };

  const verifyUncached = async (token: string): Promise<AccessTokenClaims> => {
    const { payload } = await verifyJwt(token, rules);
    return deepFreeze(checkClaims(payload));
  };

  const checkClaims = (payload: JWTPayload): AccessTokenClaims => {
    rejectForeignClaims(payload, LOGOUT_TOKEN_CLAIMS, EXPECTED, 'a logout token');
    rejectForeignClaims(payload, ID_TOKEN_CLAIMS, EXPECTED, 'an ID token');
    requireString(payload, 'sub');
    checkAudienceShape(payload);
    checkIssuedAt(payload, clockTolerance);
    for (const name of ['scope', 'tid', 'client_id', 'jti']) optionalString(payload, name);
    optionalStringArray(payload, 'roles');
    if (tenantId !== undefined && payload.tid !== tenantId) {
      throw tokenError('ERR_TOKEN_CLAIM', payload.tid === undefined ? 'token "tid" claim is missing' : 'token "tid" claim is not the configured tenant');
    }
    if (clientId !== undefined && payload.client_id !== clientId) {
      throw tokenError('ERR_TOKEN_CLAIM', payload.client_id === undefined ? 'token "client_id" claim is missing' : 'token "client_id" claim is not the configured client');
    }
    return payload as AccessTokenClaims;
  };

  // Concurrent first verifications of one token share one signature check.
  const inFlight = new Map<string, Promise<AccessTokenClaims>>();

  const verifyCached = async (cache: VerifiedTokenCache<AccessTokenClaims>, token: string): Promise<AccessTokenClaims> => {
    const key = cache.keyOf(token);
    const hit = cache.get(key);
    if (hit === 'expired') throw tokenError('ERR_TOKEN_EXPIRED', 'token "exp" claim check failed: the token has expired');
    if (hit !== undefined) return hit;
    const running = inFlight.get(key);
    if (running !== undefined) return running;
    const verification = verifyUncached(token);
    inFlight.set(key, verification);
    try {
      const claims = await verification;
      // The same rule as jose's: expired once now >= exp + tolerance.
      cache.set(key, claims, (claims.exp + clockTolerance) * 1000);
      return claims;
    } finally {
      inFlight.delete(key);
    }
  };

  return {
    async verify(token) {
      try {
        const jwt = assertCompactJws(token);
        return await (cache === undefined ? verifyUncached(jwt) : verifyCached(cache, jwt));
      } catch (err) {
        throw rejectToken('access token', err, logger);
      }
    },
  };
}
