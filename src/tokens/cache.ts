import { createHash } from 'node:crypto';

export interface VerifiedTokenCacheOptions {
  /** Most entries kept; the least recently used goes first. Default 10 000. */
  max?: number;
  /** Clock in epoch milliseconds (tests). */
  now?: () => number;
}

/**
 * Claims of tokens already verified, so the hot path verifies a token's signature once. Keyed
 * by SHA-256 of the token (the cache holds no usable token); an entry lives until its expiry
 * time and is bounded in number (LRU through Map insertion order).
 */
export interface VerifiedTokenCache<T> {
  /** The cache key of a token. */
  keyOf(token: string): string;
  /** The value; `'expired'` (and the entry is gone) once its expiry time has come. */
  get(key: string): T | 'expired' | undefined;
  /** Keeps `value` until `expiresAtMs` (epoch ms). */
  set(key: string, value: T, expiresAtMs: number): void;
  readonly size: number;
}

export const DEFAULT_CACHE_MAX = 10_000;

export function createVerifiedTokenCache<T>(options: VerifiedTokenCacheOptions = {}): VerifiedTokenCache<T> {
  const max = options.max ?? DEFAULT_CACHE_MAX;
  if (!Number.isInteger(max) || max < 1) throw new TypeError('"cache.max" option must be a positive integer');
  const now = options.now ?? Date.now;
  const entries = new Map<string, { value: T; expiresAtMs: number }>();

  return {
    keyOf: (token) => createHash('sha256').update(token).digest('base64url'),
    get(key) {
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      entries.delete(key);
      if (now() >= entry.expiresAtMs) return 'expired';
      entries.set(key, entry); // most recently used goes last
      return entry.value;
    },
    set(key, value, expiresAtMs) {
      entries.delete(key);
      if (now() >= expiresAtMs) return;
      while (entries.size >= max) {
        const oldest = entries.keys().next();
        if (oldest.done === true) break;
        entries.delete(oldest.value);
      }
      entries.set(key, { value, expiresAtMs });
    },
    get size() {
      return entries.size;
    },
  };
}
