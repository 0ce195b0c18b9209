import type { JWTPayload } from 'jose';
import { tokenError } from './errors.js';

/** Claim checks shared by the verifiers; each rejection names the claim. */

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export function optionalString(payload: JWTPayload, name: string): string | undefined {
  const value = payload[name];
  if (value !== undefined && typeof value !== 'string') throw tokenError('ERR_TOKEN_CLAIM', `token "${name}" claim must be a string`);
  return value;
}

export function requireString(payload: JWTPayload, name: string): string {
  const value = optionalString(payload, name);
  if (value === undefined || value === '') throw tokenError('ERR_TOKEN_CLAIM', `token "${name}" claim is missing`);
  return value;
}

export function optionalStringArray(payload: JWTPayload, name: string): void {
  const value = payload[name];
  if (value !== undefined && !(Array.isArray(value) && value.every((v) => typeof v === 'string'))) {
    throw tokenError('ERR_TOKEN_CLAIM', `token "${name}" claim must be an array of strings`);
  }
}

export function optionalNumber(payload: JWTPayload, name: string): number | undefined {
  const value = payload[name];
  if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) {
    throw tokenError('ERR_TOKEN_CLAIM', `token "${name}" claim must be a number`);
  }
  return value;
}

/** `aud` is a string or an array of strings even when no audience is expected. */
export function checkAudienceShape(payload: JWTPayload): void {
  const { aud } = payload;
  if (aud === undefined || typeof aud === 'string') return;
  optionalStringArray(payload, 'aud');
}

/** An `iat` later than now (beyond the tolerance) means a token from the future. */
export function checkIssuedAt(payload: JWTPayload, clockTolerance: number): void {
  const iat = optionalNumber(payload, 'iat');
  if (iat !== undefined && iat > nowSeconds() + clockTolerance) {
    throw tokenError('ERR_TOKEN_NOT_YET_VALID', 'token "iat" claim is in the future');
  }
}

/** Rejects a token of another kind, recognized by a claim only that kind carries. */
export function rejectForeignClaims(payload: JWTPayload, names: readonly string[], expected: string, foreign: string): void {
  for (const name of names) {
    if (payload[name] !== undefined) {
      throw tokenError('ERR_TOKEN_TYPE', `token carries the "${name}" claim of ${foreign}: expected ${expected}`);
    }
  }
}

/** Freezes verified claims: they are shared (by the cache) and must not be edited by callers. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}
