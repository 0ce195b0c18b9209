/**
 * The asymmetric JWS algorithms Tessera can verify, the JWK each needs, and the hash OIDC uses
 * for `at_hash`. Symmetric (HS*) algorithms and `none` are never accepted: with a public JWKS an
 * HMAC "secret" would be public (the algorithm-confusion attack).
 */
export type JwsAlgorithm =
  | 'RS256' | 'RS384' | 'RS512'
  | 'PS256' | 'PS384' | 'PS512'
  | 'ES256' | 'ES384' | 'ES512'
  | 'EdDSA';

export interface KeyFamily {
  kty: 'RSA' | 'EC' | 'OKP';
  crv?: string;
  /** Node hash name for OIDC `at_hash` (left half of the digest of the access token). */
  hash: 'sha256' | 'sha384' | 'sha512';
}

const FAMILIES: Readonly<Record<JwsAlgorithm, KeyFamily>> = {
  RS256: { kty: 'RSA', hash: 'sha256' },
  RS384: { kty: 'RSA', hash: 'sha384' },
  RS512: { kty: 'RSA', hash: 'sha512' },
  PS256: { kty: 'RSA', hash: 'sha256' },
  PS384: { kty: 'RSA', hash: 'sha384' },
  PS512: { kty: 'RSA', hash: 'sha512' },
  ES256: { kty: 'EC', crv: 'P-256', hash: 'sha256' },
  ES384: { kty: 'EC', crv: 'P-384', hash: 'sha384' },
  ES512: { kty: 'EC', crv: 'P-521', hash: 'sha512' },
  // jose's EdDSA is Ed25519; OIDC (errata 2) hashes at_hash with SHA-512 for it.
  EdDSA: { kty: 'OKP', crv: 'Ed25519', hash: 'sha512' },
};

export const DEFAULT_ALGORITHMS: readonly JwsAlgorithm[] = ['RS256'];

export function isJwsAlgorithm(value: unknown): value is JwsAlgorithm {
  return typeof value === 'string' && Object.hasOwn(FAMILIES, value);
}

export function keyFamily(alg: JwsAlgorithm): KeyFamily {
  return FAMILIES[alg];
}

/** Validates the `algorithms` option once, at construction (a wrong value is a programmer error). */
export function resolveAlgorithms(option: readonly string[] | undefined): readonly JwsAlgorithm[] {
  if (option === undefined) return DEFAULT_ALGORITHMS;
  if (!Array.isArray(option) || option.length === 0) {
    throw new TypeError('"algorithms" option must be a non-empty array of JWS algorithm names');
  }
  for (const alg of option) {
    if (typeof alg === 'string' && /^(none|HS\d+)$/i.test(alg)) {
      throw new TypeError(`"algorithms" option must not contain "${alg}": only asymmetric algorithms are allowed`);
    }
    if (!isJwsAlgorithm(alg)) {
      throw new TypeError(`"algorithms" option contains unsupported "${String(alg)}"; allowed: ${Object.keys(FAMILIES).join(', ')}`);
    }
  }
  return [...new Set(option as JwsAlgorithm[])];
}

/** Default clock tolerance in seconds (the same as oauth4webapi / openid-client). */
export const DEFAULT_CLOCK_TOLERANCE = 30;
export const MAX_CLOCK_TOLERANCE = 60;

export function resolveClockTolerance(option: number | undefined): number {
  if (option === undefined) return DEFAULT_CLOCK_TOLERANCE;
  if (typeof option !== 'number' || !Number.isFinite(option) || option < 0 || option > MAX_CLOCK_TOLERANCE) {
    throw new TypeError(`"clockTolerance" option must be a number of seconds from 0 to ${MAX_CLOCK_TOLERANCE}`);
  }
  return option;
}
