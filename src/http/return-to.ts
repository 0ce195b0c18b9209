/**
 * `returnTo` and post-logout targets: only same-origin relative paths. Anything else — absolute
 * URLs, scheme-relative `//host`, backslash tricks, encoded slashes, control characters —
 * falls back to the given default.
 */
export function safeReturnTo(value: unknown, fallback = '/'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return fallback;
  if (!value.startsWith('/')) return fallback;
  // Control characters, whitespace and backslashes have no place in a path we redirect to.
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is rejected
  if (/[\u0000-\u0020\u007f-\u009f\\]/.test(value)) return fallback;
  if (value.startsWith('//')) return fallback;
  let decoded = value;
  try {
    // Reject anything that decodes (once or twice) to a scheme-relative or backslash form.
    for (let i = 0; i < 2; i++) {
      const next = decodeURIComponent(decoded);
      if (next === decoded) break;
      decoded = next;
      // eslint-disable-next-line no-control-regex -- as above
      if (decoded.startsWith('//') || decoded.startsWith('/\\') || /[\u0000-\u001f\u007f\\]/.test(decoded)) return fallback;
    }
  } catch {
    return fallback;
  }
  // The URL parser must agree that the target stays on our origin.
  const base = 'http://tessera.invalid';
  let parsed: URL;
  try {
    parsed = new URL(value, base);
  } catch {
    return fallback;
  }
  if (parsed.origin !== base) return fallback;
  return parsed.pathname + parsed.search + parsed.hash;
}
