/**
 * What a session store keeps and `get` returns on the per-request read. The key is always
 * SHA-256(session id) in base64url, never the id itself, so a dump of the store yields no usable
 * cookie. The sealed tokens are not part of it: they are written with the record (`NewSession`),
 * kept apart from it, and read only by `getTokens` (token relay, logout, offline use), so the hot
 * record stays small (Redis memory per session, SQL row size).
 */
export interface SessionRecord {
  /** Subject (user id) from the ID token. */
  sub: string;
  /** IdP session id (`sid` claim) when the IdP sends one; used by back-channel logout. */
  sid?: string | undefined;
  /** Claims needed on every request. */
  roles: string[];
  tid?: string | undefined;
  scope?: string | undefined;
  amr?: string[] | undefined;
  acr?: string | undefined;
  /** When the user last actively authenticated at the IdP (ID token `auth_time`), epoch seconds. */
  authTime?: number | undefined;
  /** The `User-Agent` the browser signed in with (at most 200 characters), to show in the user's list of sessions. */
  userAgent?: string | undefined;
  /** Binding signals seen at sign-in (`TESSERA_SESSION_BINDING`), each a keyed hash, never the value itself. */
  binding?: SessionBindingHashes | undefined;
  /** Access token expiry, epoch seconds. */
  accessTokenExpiresAt: number;
  /** Times in epoch milliseconds. */
  createdAt: number;
  lastSeenAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
}

/** What `set` writes: the record and its tokens, in one atomic step. */
export interface NewSession extends SessionRecord {
  /** Tokens sealed with the key ring (AES-256-GCM); opaque strings to the store, never returned by `get`. */
  sealedTokens: string;
}

/** The hashed client properties a session is bound to; opaque strings to the store. */
export interface SessionBindingHashes {
  userAgent?: string | undefined;
  ipPrefix?: string | undefined;
}

/**
 * Every implementation passes `test/stores/conformance.ts`. Shared rules: a record is *live* until
 * the earliest of (time of the last `set`/`touch` + its `ttlMs`, `idleExpiresAt`,
 * `absoluteExpiresAt`); anything not live reads as missing. Backend failures reject with
 * `TesseraError` `ERR_STORE_UNAVAILABLE` (status 503), also after `close()`; invalid arguments
 * throw `TypeError`.
 */
export interface SessionStore {
  /** The record, or `undefined` when missing or past its expiry. Never throws for a missing key. */
  get(key: string): Promise<SessionRecord | undefined>;
  /**
   * The sealed tokens of a live record, or `undefined` when the record is missing or no longer
   * live: tokens expire, are touched and are deleted together with their record, never outliving it.
   */
  getTokens(key: string): Promise<string | undefined>;
  /** Create or replace the record and its tokens (one atomic step); the store may forget both after `ttlMs`. */
  set(key: string, session: NewSession, ttlMs: number): Promise<void>;
  /** Update last-seen and idle expiry of the record and its tokens; `ttlMs` is the new time to live. No-op when missing or no longer live (never resurrects). */
  touch(key: string, lastSeenAt: number, idleExpiresAt: number, ttlMs: number): Promise<void>;
  /** Delete one (record and tokens); returns whether it existed (and was live). */
  delete(key: string): Promise<boolean>;
  /** Delete every session of a user; returns how many live ones were deleted. */
  deleteByUser(sub: string): Promise<number>;
  /** Delete every session bound to an IdP session id; returns how many live ones were deleted. */
  deleteBySid(sid: string): Promise<number>;
  /** Live sessions of a user, with their keys, oldest (`createdAt`) first. */
  listByUser(sub: string): Promise<Array<{ key: string; record: SessionRecord }>>;
  /**
   * Store a value once under `key` for `ttlMs`; returns false when the key already exists.
   * Used for one-time markers (e.g. logout-token `jti` replay protection).
   */
  putOnce(key: string, ttlMs: number): Promise<boolean>;
  /**
   * Optional: stores shared by several instances call `listener` when a session is deleted
   * anywhere (key), or when many may have been (undefined), so in-process caches drop it.
   */
  onInvalidate?(listener: (key: string | undefined) => void): void;
  /** Throws when the backing service does not answer (used by /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
