import { errors } from 'jose';
import { TesseraError, type TesseraErrorCodeWith } from '../errors.js';
import { silentLogger, type Logger } from '../observability/log.js';

/** The token codes of the one catalogue (src/errors.ts). */
export type TokenErrorCode = TesseraErrorCodeWith<'ERR_TOKEN_'>;

/** Header values are attacker-controlled: quoted, escaped and shortened before they reach a message. */
export function quoteUntrusted(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

/** A token rejection: status and `transient` come from the catalogue (401; 503 for an unloadable JWKS). */
export function tokenError(code: TokenErrorCode, message: string, cause?: unknown): TesseraError<TokenErrorCode> {
  return new TesseraError(code, message, { cause });
}

/**
 * The one place where jose's errors become Tessera's. Errors already mapped (thrown by our own
 * policy checks, which jose passes through from the key resolver) are kept as they are.
 */
export function toTokenError(err: unknown, logger: Logger = silentLogger): TesseraError {
  if (err instanceof TesseraError) return err;
  if (err instanceof errors.JWTExpired) {
    return tokenError('ERR_TOKEN_EXPIRED', `token "${err.claim}" claim check failed: ${err.message}`, err);
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    const { claim, reason } = err;
    if (claim === 'nbf' && reason === 'check_failed') {
      return tokenError('ERR_TOKEN_NOT_YET_VALID', 'token "nbf" claim is in the future', err);
    }
    if (claim === 'iat' && reason === 'check_failed') {
      return tokenError('ERR_TOKEN_NOT_YET_VALID', 'token "iat" claim is in the future', err);
    }
    const what = reason === 'missing' ? 'is missing' : reason === 'invalid' ? 'has an invalid type' : 'has an unexpected value';
    return tokenError('ERR_TOKEN_CLAIM', `token "${claim}" claim ${what}`, err);
  }
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return tokenError('ERR_TOKEN_ALG', 'token "alg" header is not in the allowed algorithms', err);
  }
  if (err instanceof errors.JOSENotSupported) {
    // In this pipeline `alg` and keys are vetted before jose could refuse them, so what is left
    // is an extension listed in "crit".
    const crit = err.message.startsWith('Extension Header Parameter') ? ' "crit"' : '';
    return tokenError('ERR_TOKEN_HEADER', `token header${crit} is not supported: ${err.message}`, err);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return tokenError('ERR_TOKEN_SIGNATURE', 'token signature is invalid', err);
  }
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys || err instanceof errors.JWKInvalid || err instanceof errors.JWKSInvalid) {
    return tokenError('ERR_TOKEN_KEY_NOT_FOUND', 'no usable key for the token in the JWKS', err);
  }
  if (err instanceof errors.JWKSTimeout) {
    return tokenError('ERR_TOKEN_JWKS_UNAVAILABLE', 'the JWKS could not be fetched in time', err);
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) {
    return tokenError('ERR_TOKEN_MALFORMED', `token is malformed: ${err.message}`, err);
  }
  // Anything else is unexpected (a key jose refuses, a runtime crypto failure): fail closed.
  logger.error({ error: err instanceof Error ? err.message : String(err) }, 'unexpected error while verifying a token');
  return tokenError('ERR_TOKEN_SIGNATURE', 'token could not be verified', err);
}

/** Maps, logs (never the token itself) and returns the error to throw. */
export function rejectToken(kind: string, err: unknown, logger: Logger = silentLogger): TesseraError {
  const error = toTokenError(err, logger);
  const routine = error.code === 'ERR_TOKEN_EXPIRED' || error.code === 'ERR_TOKEN_JWKS_UNAVAILABLE';
  const fields = { token: kind, code: error.code, reason: error.message };
  if (routine) logger.debug(fields, 'token rejected');
  else logger.info(fields, 'token rejected');
  return error;
}
