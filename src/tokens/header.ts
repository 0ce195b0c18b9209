import type { JWSHeaderParameters } from 'jose';
import type { JwsAlgorithm } from './algorithms.js';
import { quoteUntrusted as quote, tokenError } from './errors.js';

/**
 * Allowed `typ` values, compared case-insensitively without the `application/` prefix
 * (RFC 7515 §4.1.9); `undefined` in the list means the header may be absent.
 */
export type TypRule = readonly (string | undefined)[];

export interface HeaderRules {
  algorithms: ReadonlySet<JwsAlgorithm>;
  typ: TypRule;
  /** What the verifier expects, for messages ("an access token", "an ID token", …). */
  expected: string;
}

// Headers that would let the token name its own key. Keys come only from the configured JWKS
// (OIDC Core §10.1: ID tokens SHOULD NOT use them; RFC 8725 §3.10).
const KEY_CARRYING_HEADERS = ['jwk', 'jku', 'x5u', 'x5c'] as const;

/**
 * Policy on the protected header, applied before any key lookup. jose has already parsed it
 * (JSON object, UTF-8) and checked `alg` against the same allow-list; this repeats that check
 * so the rule does not depend on option plumbing, and adds what jose leaves to the caller.
 */
export function checkProtectedHeader(header: JWSHeaderParameters, rules: HeaderRules): asserts header is JWSHeaderParameters & { alg: JwsAlgorithm } {
  const alg: unknown = header.alg;
  if (typeof alg !== 'string') throw tokenError('ERR_TOKEN_ALG', 'token "alg" header is missing');
  if (alg.toLowerCase() === 'none') throw tokenError('ERR_TOKEN_ALG', 'token "alg" header "none" is never accepted');
  if (!rules.algorithms.has(alg as JwsAlgorithm)) {
    throw tokenError('ERR_TOKEN_ALG', `token "alg" header ${quote(alg)} is not in the allowed algorithms`);
  }
  // Tessera understands no JWS extension, so any "crit" names one it does not understand.
  if (header.crit !== undefined) throw tokenError('ERR_TOKEN_HEADER', 'token "crit" header lists an extension that is not understood');
  if (header.b64 !== undefined && header.b64 !== true) {
    throw tokenError('ERR_TOKEN_HEADER', 'token "b64" header is not accepted: JWTs use an encoded payload');
  }
  for (const name of KEY_CARRYING_HEADERS) {
    if (header[name] !== undefined) {
      throw tokenError('ERR_TOKEN_HEADER', `token "${name}" header is not accepted: keys come only from the configured JWKS`);
    }
  }
  if (header.kid !== undefined && typeof header.kid !== 'string') {
    throw tokenError('ERR_TOKEN_HEADER', 'token "kid" header must be a string');
  }
  checkTyp(header.typ, rules);
}

function checkTyp(typ: unknown, rules: HeaderRules): void {
  if (typ !== undefined && typeof typ !== 'string') throw tokenError('ERR_TOKEN_HEADER', 'token "typ" header must be a string');
  const normalized = typ === undefined ? undefined : normalizeTyp(typ);
  if (!rules.typ.includes(normalized)) {
    const shown = typ === undefined ? 'absent' : quote(typ);
    throw tokenError('ERR_TOKEN_TYPE', `token "typ" header ${shown} is not allowed: expected ${rules.expected}`);
  }
}

function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

