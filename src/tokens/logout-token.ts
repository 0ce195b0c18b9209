import type { JWTPayload } from 'jose';
import { resolveAlgorithms, resolveClockTolerance } from './algorithms.js';
import { checkAudienceShape, nowSeconds, optionalString } from './claims.js';
import type { Logger } from '../observability/log.js';
import { rejectToken, tokenError } from './errors.js';
import { assertCompactJws } from './format.js';
import type { TypRule } from './header.js';
import type { KeySourceOption } from './id-token.js';
import { resolveKeySource } from './keys.js';
import { positiveSecondsOption, requireOption } from './options.js';
import { verifyJwt } from './verify-jwt.js';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export type LogoutTokenVerifierOptions = KeySourceOption & {
  issuer: string;
  /** This client's id; `aud` must contain it. */
  clientId: string;
  /** Allowed `alg` values; default `['RS256']`. */
  algorithms?: string[];
  /** Seconds, 0–60, default 30. */
  clockTolerance?: number;
  /** How old (by `iat`) a logout token may be, in seconds; default 120. */
  maxAgeSeconds?: number;
  /**
   * Records a `jti` for `ttlMs`; resolves `false` when it was already recorded (a replay).
   * Typically `SessionStore.putOnce`. Its errors propagate unchanged: a store outage is not a
   * defect of the token.
   */
  rememberJti(jti: string, ttlMs: number): Promise<boolean>;
  /** Where rejections (info, debug) and JWKS failures (warn) are logged, never with the token; default nowhere. */
  logger?: Logger;
};

export interface LogoutTokenClaims {
  sub?: string;
  sid?: string;
  jti: string;
  iss: string;
}

export interface LogoutTokenVerifier {
  verify(token: unknown): Promise<LogoutTokenClaims>;
}

const LOGOUT_TYP: TypRule = [undefined, 'logout+jwt'];
const EXPECTED = 'a logout token';

/**
 * Verifies back-channel logout tokens (OIDC Back-Channel Logout 1.0 §2.4, §2.6): signature and
 * `alg` as for ID tokens, `iss`, `aud` contains the client id, `iat` within `maxAgeSeconds`,
 * `exp` when present, `events` holding the back-channel-logout member as an object, `sub` or
 * `sid`, no `nonce`, `typ` absent or `logout+jwt`, and a `jti` never seen before.
 */
export function createLogoutTokenVerifier(options: LogoutTokenVerifierOptions): LogoutTokenVerifier {
  const issuer = requireOption(options.issuer, 'issuer');
  const clientId = requireOption(options.clientId, 'clientId');
  const algorithms = resolveAlgorithms(options.algorithms);
  const clockTolerance = resolveClockTolerance(options.clockTolerance);
  const maxAgeSeconds = positiveSecondsOption(options.maxAgeSeconds, 120, 'maxAgeSeconds');
  const { rememberJti } = options;
  if (typeof rememberJti !== 'function') throw new TypeError('"rememberJti" option must be a function');
  const keySource = resolveKeySource(options);
  const rules = {
    issuer, audience: clientId, algorithms, clockTolerance, typ: LOGOUT_TYP, keySource, expected: EXPECTED,
    requiredClaims: ['iat', 'jti'], maxTokenAge: maxAgeSeconds,
  };

  const checkClaims = (payload: JWTPayload): LogoutTokenClaims & { iat: number } => {
    const { events } = payload;
    if (events === undefined) throw tokenError('ERR_TOKEN_TYPE', `token has no "events" claim: expected ${EXPECTED}`);
    if (!isPlainObject(events) || !isPlainObject(events[BACKCHANNEL_LOGOUT_EVENT])) {
      throw tokenError('ERR_TOKEN_CLAIM', `token "events" claim must hold the "${BACKCHANNEL_LOGOUT_EVENT}" event as an object`);
    }
    if (payload.nonce !== undefined) throw tokenError('ERR_TOKEN_CLAIM', 'token "nonce" claim is forbidden in a logout token');
    checkAudienceShape(payload);
    const sub = optionalString(payload, 'sub');
    const sid = optionalString(payload, 'sid');
    if ((sub === undefined || sub === '') && (sid === undefined || sid === '')) {
      throw tokenError('ERR_TOKEN_CLAIM', 'token has neither a "sub" nor a "sid" claim');
    }
    const jti = optionalString(payload, 'jti');
    if (jti === undefined || jti === '') throw tokenError('ERR_TOKEN_CLAIM', 'token "jti" claim is missing');
    const claims: LogoutTokenClaims & { iat: number } = { jti, iss: issuer, iat: payload.iat as number };
    if (sub !== undefined && sub !== '') claims.sub = sub;
    if (sid !== undefined && sid !== '') claims.sid = sid;
    return claims;
  };

  return {
    async verify(token) {
      let claims: LogoutTokenClaims & { iat: number };
      try {
        const jwt = assertCompactJws(token);
        const { payload } = await verifyJwt(jwt, rules);
        claims = checkClaims(payload);
      } catch (err) {
        throw rejectToken('logout token', err, options.logger);
      }
      // Remember the jti for as long as the token could still pass the `iat` window.
      const ttlMs = Math.max(1000, (claims.iat + maxAgeSeconds + clockTolerance - nowSeconds()) * 1000);
      if (!(await rememberJti(claims.jti, ttlMs))) {
        throw rejectToken('logout token', tokenError('ERR_TOKEN_REPLAYED', 'token "jti" claim was seen before (replayed logout token)'), options.logger);
      }
      const { iat: _iat, ...result } = claims;
      return result;
    },
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
