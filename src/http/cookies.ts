/**
 * Cookie parsing and serialisation, just what Tessera needs. The hot path reads one cookie out
 * of a header without building a map of all of them.
 */

export type CookieLookup =
  | { found: false }
  | { found: true; value: string; duplicate: boolean };

/** Finds `name` in a `Cookie` header; reports when it occurs more than once. */
export function readCookie(header: string | undefined, name: string): CookieLookup {
  if (header === undefined || header.length === 0) return { found: false };
  let value: string | undefined;
  let count = 0;
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    const eq = header.indexOf('=', start);
    if (eq !== -1 && eq < end) {
      const key = header.slice(start, eq).trim();
      if (key === name) {
        count += 1;
        value ??= header.slice(eq + 1, end).trim();
      }
    }
    start = end + 1;
  }
  return value === undefined ? { found: false } : { found: true, value, duplicate: count > 1 };
}

/** Every cookie whose name starts with `prefix`, in header order. */
export function readCookiesWithPrefix(header: string | undefined, prefix: string): Array<[string, string]> {
  if (!header) return [];
  const out: Array<[string, string]> = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const key = part.slice(0, eq).trim();
    if (key.startsWith(prefix)) out.push([key, part.slice(eq + 1).trim()]);
  }
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
