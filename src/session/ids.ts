import { hash, randomBytes } from 'node:crypto';

const sessionIdPattern = /^[A-Za-z0-9_-]{43}$/;

/** A fresh session id: 32 bytes from the CSPRNG, 43 base64url characters. */
export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

/** Format check done before any store lookup. */
export function isSessionIdFormat(value: string): boolean {
  return sessionIdPattern.test(value);
}

/** The store key: SHA-256 of the id, so a store dump yields no usable cookie. */
export function storeKeyFor(sessionId: string): string {
  return hash('sha256', sessionId, 'base64url');
}

/**
 * An opaque per-session reference for upstreams, logs and the admin API. Derived from the store
 * key (one more hash), so it identifies a session without being a key or a cookie.
 */
export function sessionRefFor(storeKey: string): string {
  return hash('sha256', `ref:${storeKey}`, 'base64url').slice(0, 22);
}
