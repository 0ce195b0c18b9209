/**
 * Token verification: access tokens (RFC 9068, Mosaic's guideline), ID tokens (OIDC Core
 * §3.1.3.7) and back-channel logout tokens (Back-Channel Logout §2.6), all on jose with keys
 * only from the IdP's JWKS. Every failure is a `TesseraError` whose code starts with `ERR_TOKEN_`.
 */
export {
  createAccessTokenVerifier,
  type AccessTokenClaims,
  type AccessTokenVerifier,
  type AccessTokenVerifierOptions,
} from './access-token.js';
export {
  createIdTokenVerifier,
  type IdTokenClaims,
  type IdTokenVerifier,
  type IdTokenVerifierOptions,
  type IdTokenVerifyOptions,
  type KeySourceOption,
} from './id-token.js';
export {
  BACKCHANNEL_LOGOUT_EVENT,
  createLogoutTokenVerifier,
  type LogoutTokenClaims,
  type LogoutTokenVerifier,
  type LogoutTokenVerifierOptions,
} from './logout-token.js';
export { createKeySource, type KeySource, type KeySourceOptions } from './keys.js';
export { DEFAULT_ALGORITHMS, DEFAULT_CLOCK_TOLERANCE, MAX_CLOCK_TOLERANCE, type JwsAlgorithm } from './algorithms.js';
export { MAX_TOKEN_LENGTH } from './format.js';
export type { TokenErrorCode } from './errors.js';
