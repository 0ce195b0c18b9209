/**
 * Request paths as route rules see them, and as the upstream then receives them: one canonical
 * spelling, so that what a rule matched is exactly what the application routes.
 *
 * - percent-encoded unreserved characters are decoded (`%61` → `a`, `%2e` → `.`, RFC 3986
 *   §6.2.2.2) and the remaining escapes upper-cased (§6.2.2.1);
 * - dot segments are removed (§5.2.4) and runs of `/` merged (as nginx's `merge_slashes`);
 * - what servers disagree about is refused rather than guessed: an encoded `/` or `\` (`%2f`,
 *   `%5c`), a raw `\`, NUL or any other control character (raw or encoded), and a dot segment
 *   carrying `;` parameters (`..;` — Tomcat and others read it as `..`).
 */

export type NormalisedPath =
  | { ok: true; path: string; query: string }
  | { ok: false; reason: string };

const unreserved = /[A-Za-z0-9\-._~]/;
/** Segments of unreserved and sub-delimiter characters (no `.`, `%` or `;`), single slashes. */
const plain = /^(?:\/[A-Za-z0-9\-_~!$&'()*+,=:@]+)*\/?$/;

/** Splits an origin-form target into its canonical path and its query (with the `?`, or empty). */
export function normalisePath(target: string): NormalisedPath {
  const q = target.indexOf('?');
  const raw = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? '' : target.slice(q);
  if (raw.charCodeAt(0) !== 0x2f) return { ok: false, reason: 'the path must start with "/"' };
  // Most paths are canonical already: no escape, no dot, no doubled slash, nothing to refuse.
  if (plain.test(raw)) return { ok: true, path: raw, query };
  let decoded = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return { ok: false, reason: 'the path contains a control character' };
    if (c === 0x5c) return { ok: false, reason: 'the path contains a backslash' };
    if (c !== 0x25 /* % */) {
      decoded += raw[i];
      continue;
    }
    const hex = raw.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return { ok: false, reason: 'the path contains a malformed percent-escape' };
    const byte = parseInt(hex, 16);
    if (byte === 0x2f || byte === 0x5c) return { ok: false, reason: 'the path contains an encoded "/" or "\\"' };
    if (byte < 0x20 || byte === 0x7f) return { ok: false, reason: 'the path contains an encoded control character' };
    const char = String.fromCharCode(byte);
    decoded += unreserved.test(char) ? char : `%${hex.toUpperCase()}`;
    i += 2;
  }
  const out: string[] = [];
  const segments = decoded.split('/');
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (/^\.\.?;/.test(segment)) return { ok: false, reason: 'the path has a dot segment with ";" parameters' };
    if (segment === '.' || segment === '..') {
      if (segment === '..') out.pop();
      if (last) out.push(''); // "/a/.." is "/", "/a/." is "/a/"
      continue;
    }
    if (segment === '' && !last) continue; // merge "//"
    out.push(segment);
  }
  return { ok: true, path: `/${out.join('/')}`, query };
}

/** Whether `path` (canonical) is `prefix` or lies below it on a segment boundary. */
export function isUnder(path: string, prefix: string): boolean {
  if (prefix === '/') return true;
  const base = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return path === base || path.startsWith(`${base}/`);
}
