import { tokenError } from './errors.js';

/** Longest token accepted, in characters (16 KiB); larger input is refused before any decoding. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

// Three non-empty base64url segments. The character classes exclude '.', so this is linear.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Checks the outer shape of a compact JWS without decoding it: a string of at most 16 KiB,
 * exactly three non-empty, unpadded, canonical base64url segments. Returns the token.
 */
export function assertCompactJws(token: unknown): string {
  if (typeof token !== 'string') throw tokenError('ERR_TOKEN_MALFORMED', 'token must be a string');
  if (token.length > MAX_TOKEN_LENGTH) {
    throw tokenError('ERR_TOKEN_MALFORMED', `token is longer than ${MAX_TOKEN_LENGTH} characters`);
  }
  if (!COMPACT_JWS.test(token)) {
    throw tokenError('ERR_TOKEN_MALFORMED', 'token is not a compact JWS of three base64url segments');
  }
  for (const segment of token.split('.')) {
    if (!isCanonicalBase64url(segment)) {
      throw tokenError('ERR_TOKEN_MALFORMED', 'token has a segment that is not canonical base64url');
    }
  }
  return token;
}

/**
 * Rejects lengths no encoder produces and non-zero unused bits in the last character, so one
 * byte sequence has exactly one spelling: a token cannot be re-spelt to dodge the
 * verified-token cache or to look new to anything keyed on the token text.
 */
function isCanonicalBase64url(segment: string): boolean {
  const rest = segment.length % 4;
  if (rest === 0) return true;
  if (rest === 1) return false;
  const last = sextet(segment.charCodeAt(segment.length - 1));
  return rest === 2 ? (last & 0x0f) === 0 : (last & 0x03) === 0;
}

function sextet(code: number): number {
  if (code >= 65 && code <= 90) return code - 65; // A-Z
  if (code >= 97 && code <= 122) return code - 71; // a-z
  if (code >= 48 && code <= 57) return code + 4; // 0-9
  return code === 45 ? 62 : 63; // '-' or '_'
}
