import type { TesseraConfig } from '../config/index.js';
import { clearCookie, readCookie, serializeCookie, type CookieOptions } from '../http/cookies.js';
import type { KeyRing } from '../keys/index.js';
import { logger } from '../lib/log.js';
import type { SessionRecord, SessionStore } from '../stores/types.js';
import { SessionCache } from './cache.js';
import { isSessionIdFormat, newSessionId, sessionRefFor, storeKeyFor } from './ids.js';

/** Last-seen is written at most this often per session, never on every request. */
const touchIntervalMs = 60_000;

export interface SessionTokens {
  access_token: string;
  id_token?: string | undefined;
  refresh_token?: string | undefined;
}

/** What a request learns about its authenticated session. */
export interface Session {
  /** Opaque per-session reference (not the cookie, not the store key). */
  ref: string;
  sub: string;
  roles: string[];
  tid: string | undefined;
  scope: string | undefined;
  amr: string[] | undefined;
  acr: string | undefined;
  /** Epoch seconds. */
  accessTokenExpiresAt: number;
  /** Epoch milliseconds. */
  createdAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
}

export type AnonymousReason =
  | 'no_cookie' | 'malformed_cookie' | 'duplicate_cookie' | 'unknown_session'
  | 'idle_timeout' | 'absolute_timeout' | 'access_token_expired';

export type AuthResult =
  | { authenticated: true; session: Session; storeKey: string }
  | {
      authenticated: false;
      reason: AnonymousReason;
      /** A `Set-Cookie` value that clears a dead session cookie, when the request carried one. */
      clearCookie: string | undefined;
      /** The access token expired: a silent (`prompt=none`) renewal is the way back. */
      renew: boolean;
    };

/** Sessions: creation after login, the per-request check, and revocation. */
export class SessionManager {
  readonly cookieName: string;
  readonly cookieOptions: CookieOptions;
  #store: SessionStore;
  #keys: KeyRing;
  #config: TesseraConfig;
  #cache: SessionCache;
  #clearCookieValue: string;

  constructor(store: SessionStore, keys: KeyRing, config: TesseraConfig) {
    this.#store = store;
    this.#keys = keys;
    this.#config = config;
    this.cookieName = config.secureCookies ? '__Host-tessera' : 'tessera';
    this.cookieOptions = { secure: config.secureCookies, sameSite: config.cookieSameSite };
    this.#clearCookieValue = clearCookie(this.cookieName, this.cookieOptions);
    this.#cache = new SessionCache(config.sessionCacheTtlMs);
    store.onInvalidate?.((key) => (key === undefined ? this.#cache.clear() : this.#cache.delete(key)));
  }

  get store(): SessionStore {
    return this.#store;
  }

  get clearCookieHeader(): string {
    return this.#clearCookieValue;
  }

  /** Creates a session with a fresh id; returns its `Set-Cookie` value. */
  async create(tokens: SessionTokens, claims: Omit<SessionRecord, 'createdAt' | 'lastSeenAt' | 'idleExpiresAt' | 'absoluteExpiresAt' | 'sealedTokens'>, now = Date.now()): Promise<{ setCookie: string; storeKey: string }> {
    const id = newSessionId();
    const storeKey = storeKeyFor(id);
    const absoluteExpiresAt = now + this.#config.absoluteTimeoutMs;
    const record: SessionRecord = {
      ...claims,
      createdAt: now,
      lastSeenAt: now,
      idleExpiresAt: Math.min(now + this.#config.idleTimeoutMs, absoluteExpiresAt),
      absoluteExpiresAt,
      sealedTokens: this.#keys.seal(JSON.stringify(tokens), `session:${storeKey}`),
    };
    await this.#store.set(storeKey, record, record.idleExpiresAt - now);
    logger.info('session created', { session: sessionRefFor(storeKey), sub: record.sub });
    return { setCookie: serializeCookie(this.cookieName, id, this.cookieOptions), storeKey };
  }

  /**
   * The per-request check. Reads one cookie, checks its format, hashes it once, and answers from
   * the in-process cache or the store. Store outages throw `ERR_STORE_UNAVAILABLE`; every other
   * outcome is a result.
   */
  async authenticate(cookieHeader: string | undefined, now = Date.now()): Promise<AuthResult> {
    const cookie = readCookie(cookieHeader, this.cookieName);
    if (!cookie.found) return anonymous('no_cookie', undefined);
    if (cookie.duplicate) return anonymous('duplicate_cookie', this.#clearCookieValue);
    if (!isSessionIdFormat(cookie.value)) return anonymous('malformed_cookie', this.#clearCookieValue);

    const storeKey = storeKeyFor(cookie.value);
    let record = this.#cache.get(storeKey, now);
    if (record === undefined) {
      record = await this.#store.get(storeKey);
      if (record === undefined) return anonymous('unknown_session', this.#clearCookieValue);
      this.#cache.set(storeKey, record, now);
    }

    if (record.absoluteExpiresAt <= now || record.idleExpiresAt <= now) {
      await this.revoke(storeKey);
      return anonymous(record.absoluteExpiresAt <= now ? 'absolute_timeout' : 'idle_timeout', this.#clearCookieValue);
    }
    if (record.accessTokenExpiresAt * 1000 <= now) {
      // Mosaic: never extend with a refresh token. The session ends; a silent login renews it.
      await this.revoke(storeKey);
      return { authenticated: false, reason: 'access_token_expired', clearCookie: this.#clearCookieValue, renew: this.#config.silentAuth };
    }
    if (now - record.lastSeenAt >= touchIntervalMs) this.#touch(storeKey, record, now);
    return { authenticated: true, session: toSession(storeKey, record), storeKey };
  }

  /** The record behind an authenticated result, with its tokens unsealed. */
  async tokensFor(storeKey: string): Promise<SessionTokens | undefined> {
    const record = this.#cache.get(storeKey, Date.now()) ?? (await this.#store.get(storeKey));
    if (record === undefined) return undefined;
    const json = this.#keys.open(record.sealedTokens, `session:${storeKey}`);
    return json === undefined ? undefined : (JSON.parse(json) as SessionTokens);
  }

  async revoke(storeKey: string): Promise<boolean> {
    this.#cache.delete(storeKey);
    const existed = await this.#store.delete(storeKey);
    if (existed) logger.info('session ended', { session: sessionRefFor(storeKey) });
    return existed;
  }

  /** The store key for a raw cookie header, when it carries a well-formed session cookie. */
  storeKeyFromCookie(cookieHeader: string | undefined): string | undefined {
    const cookie = readCookie(cookieHeader, this.cookieName);
    return cookie.found && !cookie.duplicate && isSessionIdFormat(cookie.value) ? storeKeyFor(cookie.value) : undefined;
  }

  async listByUser(sub: string): Promise<Session[]> {
    return (await this.#store.listByUser(sub)).map(({ key, record }) => toSession(key, record));
  }

  async revokeByUser(sub: string): Promise<number> {
    const sessions = await this.#store.listByUser(sub);
    for (const { key } of sessions) this.#cache.delete(key);
    return this.#store.deleteByUser(sub);
  }

  /** Revokes one session of `sub` by its opaque reference. */
  async revokeByRef(sub: string, ref: string): Promise<boolean> {
    const match = (await this.#store.listByUser(sub)).find(({ key }) => sessionRefFor(key) === ref);
    return match === undefined ? false : this.revoke(match.key);
  }

  async revokeBySid(sid: string): Promise<number> {
    this.#cache.clear();
    return this.#store.deleteBySid(sid);
  }

  #touch(storeKey: string, record: SessionRecord, now: number): void {
    const idleExpiresAt = Math.min(now + this.#config.idleTimeoutMs, record.absoluteExpiresAt);
    record.lastSeenAt = now;
    record.idleExpiresAt = idleExpiresAt;
    this.#store.touch(storeKey, now, idleExpiresAt, idleExpiresAt - now).catch((err: unknown) => {
      logger.warn('session touch failed', { session: sessionRefFor(storeKey), error: String(err) });
    });
  }
}

function anonymous(reason: AnonymousReason, clear: string | undefined): AuthResult {
  return { authenticated: false, reason, clearCookie: clear, renew: false };
}

export function toSession(storeKey: string, record: SessionRecord): Session {
  return {
    ref: sessionRefFor(storeKey),
    sub: record.sub,
    roles: record.roles,
    tid: record.tid,
    scope: record.scope,
    amr: record.amr,
    acr: record.acr,
    accessTokenExpiresAt: record.accessTokenExpiresAt,
    createdAt: record.createdAt,
    idleExpiresAt: record.idleExpiresAt,
    absoluteExpiresAt: record.absoluteExpiresAt,
  };
}
