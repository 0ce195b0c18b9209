/**
 * `returnTo` and post-logout targets: only same-origin relative paths. Anything else — absolute
 * URLs, scheme-relative `//host`, backslash tricks, encoded slashes, control characters —
 * falls back to the given default.
 *
 * The URL parser that makes the answer canonical also removes dot segments and percent-encodes,
 * which can turn a harmless input (`/.//evil.example`, `/a/..//evil.example`, `/%2e//evil`) into
 * a scheme-relative one. So the rules are applied again to the string that is returned, and that
 * string must be a fixed point: `safeReturnTo(result) === result`.
 */

const base = 'http://tessera.invalid';
const maxLength = 2048;

// eslint-disable-next-line no-control-regex -- control characters are exactly what is rejected
const controlWhitespaceOrBackslash = /[\u0000-\u0020\u007f-\u009f\\]/;
// Decoded text may hold a space (`%20`), but no control character or backslash.
// eslint-disable-next-line no-control-regex -- as above
const decodedControlOrBackslash = /[\u0000-\u001f\u007f-\u009f\\]/;
/** What is written into a `Location` header: printable ASCII only (the parser encodes the rest). */
const printableAscii = /^[\u0021-\u007e]+$/;

export function safeReturnTo(value: unknown, fallback = '/'): string {
  if (typeof value !== 'string' || !isSafePath(value)) return fallback;
  const result = canonical(value);
  if (result === undefined || !printableAscii.test(result) || !isSafePath(result) || canonical(result) !== result) return fallback;
  return result;
}

/** Starts with a single `/`, and stays so however often it is decoded (twice) or resolved. */
function isSafePath(value: string): boolean {
  if (!hasSafeStart(value) || value.length > maxLength || controlWhitespaceOrBackslash.test(value)) return false;
  if (canonical(value)?.startsWith('//') !== false) return false;
  let decoded = value;
  for (let i = 0; i < 2; i++) {
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      return false; // malformed or overlong UTF-8 (`%c0%af`)
    }
    if (next === decoded) break;
    decoded = next;
    if (!hasSafeStart(decoded) || decodedControlOrBackslash.test(decoded)) return false;
    // A server that decodes before it resolves dot segments must not find `//host` either.
    if (canonical(decoded)?.startsWith('//') !== false) return false;
  }
  return true;
}

function hasSafeStart(value: string): boolean {
  return value.charCodeAt(0) === 0x2f /* / */ && value.charCodeAt(1) !== 0x2f && value.charCodeAt(1) !== 0x5c /* \ */;
}

/** Path, query and fragment as the URL parser (and so the browser) reads them; undefined when off-origin. */
function canonical(value: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(value, base);
  } catch {
    return undefined;
  }
  if (parsed.origin !== base || parsed.username !== '' || parsed.password !== '') return undefined;
  return parsed.pathname + parsed.search + parsed.hash;
}
