/**
 * Which client request headers cross the gateway, decided by name. Identity headers are
 * Tessera's alone, however a client spells them: servers that follow CGI (Python's WSGI,
 * Rack, PHP) read `_` as `-`, so `X_Tessera_Sub` would reach the app as `X-Tessera-Sub`.
 */

/** Hop-by-hop headers (RFC 9110 §7.6.1), and `host` and `expect`, which the gateway answers or sets itself. */
export const hopByHop: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'host', 'expect',
]);

/** True for a (lower-cased) name that, read with `_` as `-`, is one of Tessera's identity headers. */
export function isIdentityHeader(name: string): boolean {
  if (name.length < 10) return false;
  if (name.startsWith('x-tessera-')) return true;
  return name.includes('_') && name.replace(/_/g, '-').startsWith('x-tessera-');
}

/** Headers that say where a request came from; only a trusted proxy may send them. */
export function isForwardingHeader(name: string): boolean {
  return name === 'forwarded' || name === 'x-real-ip' || name.startsWith('x-forwarded-')
    || (name.includes('_') && isForwardingHeader(name.replace(/_/g, '-')));
}

/**
 * Headers that frame or route the request between the gateway and the upstream; with `_` read as
 * `-` (`Transfer_Encoding`, `Content_Length`), a client's copy would be read as the real one.
 */
export function isFramingHeader(name: string): boolean {
  return hopByHop.has(name) || name === 'content-length' || name === 'cookie' || name === 'authorization';
}
