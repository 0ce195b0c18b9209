/**
 * Cookie parsing and serialisation, just what Tessera needs. The hot path reads one cookie out
 * of a header without building a map of all of them.
 */

export type CookieLookup =
  | { found: false }
  | { found: true; value: string; duplicate: boolean };

/**
 * The one reading of a `Cookie` header (RFC 6265 §5.4 as browsers do it): pairs split on `;`,
 * name and value trimmed of spaces and tabs, a pair without `=` has the empty name. Everything
 * that decides about cookies — what authenticates, which transaction is ours, what the gateway
 * strips before the upstream — goes through here, so no two places can read a header apart.
 * `visit` returns true to stop early.
 */
export function scanCookies(header: string | undefined, visit: (name: string, value: string) => boolean | void): void {
  if (header === undefined || header.length === 0) return;
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    const eq = header.indexOf('=', start);
    const stop = eq !== -1 && eq < end
      ? visit(trim(header.slice(start, eq)), trim(header.slice(eq + 1, end)))
      : visit('', trim(header.slice(start, end)));
    if (stop === true) return;
    start = end + 1;
  }
}

/** Space and horizontal tab: the whitespace RFC 6265 trims (String#trim also takes other characters). */
function trim(text: string): string {
  let a = 0;
  let b = text.length;
  while (a < b && (text.charCodeAt(a) === 32 || text.charCodeAt(a) === 9)) a++;
  while (b > a && (text.charCodeAt(b - 1) === 32 || text.charCodeAt(b - 1) === 9)) b--;
  return a === 0 && b === text.length ? text : text.slice(a, b);
}

/** Finds `name` in a `Cookie` header; reports when it occurs more than once. */
export function readCookie(header: string | undefined, name: string): CookieLookup {
  let value: string | undefined;
  let count = 0;
  scanCookies(header, (key, v) => {
    if (key !== name) return;
    count += 1;
    value ??= v;
  });
  return value === undefined ? { found: false } : { found: true, value, duplicate: count > 1 };
}

/** Every cookie whose name starts with `prefix`, in header order (at most `limit`). */
export function readCookiesWithPrefix(header: string | undefined, prefix: string, limit = Infinity): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  scanCookies(header, (key, value) => {
    if (key.length > 0 && key.startsWith(prefix)) out.push([key, value]);
    return out.length >= limit;
  });
  return out;
}

/** The header without the cookies `drop` picks (pairs re-joined with "; "); empty when none is left. */
export function removeCookies(header: string, drop: (name: string, value: string) => boolean): string {
  let out = '';
  scanCookies(header, (name, value) => {
    if (name.length === 0 && value.length === 0) return;
    if (drop(name, value)) return;
    const pair = name.length === 0 ? value : `${name}=${value}`;
    out = out ? `${out}; ${pair}` : pair;
  });
  return out;
}

export interface CookieOptions {
  secure: boolean;
  sameSite: 'Lax' | 'Strict';
  /** Seconds; omitted = a browser-session cookie. */
  maxAge?: number;
}

export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  let cookie = `${name}=${value}; Path=/; HttpOnly; SameSite=${options.sameSite}`;
  if (options.secure) cookie += '; Secure';
  if (options.maxAge !== undefined) cookie += `; Max-Age=${options.maxAge}`;
  return cookie;
}

export function clearCookie(name: string, options: Omit<CookieOptions, 'maxAge'>): string {
  return `${serializeCookie(name, '', { ...options, maxAge: 0 })}; Expires=Thu, 01 Jan 1970 00:00:00 GMT`;
}
