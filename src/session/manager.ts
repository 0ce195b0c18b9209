import type { TesseraConfig } from '../config/index.js';
import { clearCookie, readCookie, serializeCookie, type CookieOptions } from '../lib/cookies.js';
import type { KeyRing } from '../keys/index.js';
import { silentLogger, type Logger } from '../observability/log.js';
import type { TesseraMetrics } from '../observability/metrics.js';
import type { NewSession, SessionRecord, SessionStore } from '../stores/types.js';
import { SessionBinding, displayUserAgent, type ClientFacts } from './binding.js';
import { SessionCache, type CachedSession } from './cache.js';
import { isSessionIdFormat, newSessionId, sessionRefFor, storeKeyFor } from './ids.js';
import { PendingRevocations } from './pending-revocations.js';

/** Last-seen is written at most once a minute per session (every quarter of an idle timeout under 4 min), never on every request. */
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
  /** When the user last actively authenticated at the IdP (ID token `auth_time`), epoch seconds; undefined when the IdP did not say. */
  authTime: number | undefined;
  /** Epoch seconds. */
  accessTokenExpiresAt: number;
  /** Epoch milliseconds. */
  createdAt: number;
  /** When the session was last used (written at most once a minute). */
  lastSeenAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  /** The `User-Agent` the browser signed in with (at most 200 characters), when it sent one. */
  userAgent: string | undefined;
}

export type AnonymousReason =
  | 'no_cookie' | 'malformed_cookie' | 'duplicate_cookie' | 'unknown_session'
  | 'idle_timeout' | 'absolute_timeout' | 'access_token_expired' | 'binding_mismatch';

export type AuthResult =
  | { authenticated: true; session: Session }
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
  /** Store reads in flight, so concurrent requests for one session share a single read. */
  #loading = new Map<string, Promise<CachedSession | undefined>>();
  #clearCookieValue: string;
  #touchEveryMs: number;
  #logger: Logger;
  #metrics: TesseraMetrics | undefined;
  #binding: SessionBinding;
  /** Logouts the store could not take yet: refused here at once, retried until the store answers. */
  #pending: PendingRevocations;

  constructor(store: SessionStore, keys: KeyRing, config: TesseraConfig, observability: { logger?: Logger; metrics?: TesseraMetrics } = {}) {
    this.#logger = observability.logger ?? silentLogger;
    this.#metrics = observability.metrics;
    this.#store = store;
    this.#keys = keys;
    this.#config = config;
    this.cookieName = config.secureCookies ? `__Host-${config.cookieName}` : config.cookieName;
    this.cookieOptions = { secure: config.secureCookies, sameSite: config.cookieSameSite };
    this.#clearCookieValue = clearCookie(this.cookieName, this.cookieOptions);
    this.#cache = new SessionCache(config.sessionCacheTtlMs);
    this.#touchEveryMs = Math.min(touchIntervalMs, config.idleTimeoutMs / 4);
    this.#binding = new SessionBinding(config.sessionBinding, config.sessionBindingSignals);
    store.onInvalidate?.((key) => this.#forget(key));
    this.#pending = new PendingRevocations((key) => store.delete(key), this.#logger);
  }

  get clearCookieHeader(): string {
    return this.#clearCookieValue;
  }

  /**
   * Creates a session with a fresh id; returns its `Set-Cookie` value. `client` is the signing-in
   * request: its `User-Agent` is kept for the user's list of sessions, and what binding asks for, hashed.
   */
  async create(tokens: SessionTokens, claims: Omit<SessionRecord, 'createdAt' | 'lastSeenAt' | 'idleExpiresAt' | 'absoluteExpiresAt'>, now = Date.now(), client?: ClientFacts): Promise<{ setCookie: string; storeKey: string }> {
    const id = newSessionId();
    const storeKey = storeKeyFor(id);
    const absoluteExpiresAt = now + this.#config.absoluteTimeoutMs;
    const userAgent = displayUserAgent(client?.header('user-agent'));
    const binding = this.#binding.hashesFor(id, client);
    const record: NewSession = {
      ...claims,
      ...(userAgent !== undefined ? { userAgent } : {}),
      ...(binding !== undefined ? { binding } : {}),
      createdAt: now,
      lastSeenAt: now,
      idleExpiresAt: Math.min(now + this.#config.idleTimeoutMs, absoluteExpiresAt),
      absoluteExpiresAt,
      sealedTokens: this.#keys.seal(JSON.stringify(tokens), `session:${storeKey}`),
    };
    await this.#store.set(storeKey, record, record.idleExpiresAt - now);
    this.#logger.info({ session: sessionRefFor(storeKey), sub: record.sub }, 'session created');
    return { setCookie: serializeCookie(this.cookieName, id, this.cookieOptions), storeKey };
  }

  /**
   * The per-request check. Reads one cookie, checks its format, hashes it once, and answers from
   * the in-process cache or the store (one read shared by concurrent requests for the session).
   * Store outages throw `ERR_STORE_UNAVAILABLE`; every other outcome is a result. With session
   * binding on, `client` (the request) is compared with what the sign-in recorded.
   */
  async authenticate(cookieHeader: string | undefined, now = Date.now(), client?: ClientFacts): Promise<AuthResult> {
    const metrics = this.#metrics;
    if (metrics === undefined) return this.#authenticate(cookieHeader, now, client);
    const started = performance.now();
    try {
      const result = await this.#authenticate(cookieHeader, now, client);
      if (result.authenticated) metrics.authenticated(started);
      else metrics.anonymous(result.reason, started);
      return result;
    } catch (err) {
      metrics.unavailable(started);
      throw err;
    }
  }

  async #authenticate(cookieHeader: string | undefined, now: number, client: ClientFacts | undefined): Promise<AuthResult> {
    const cookie = readCookie(cookieHeader, this.cookieName);
    if (!cookie.found) return anonymous('no_cookie', undefined);
    if (cookie.duplicate) return anonymous('duplicate_cookie', this.#clearCookieValue);
    if (!isSessionIdFormat(cookie.value)) return anonymous('malformed_cookie', this.#clearCookieValue);

    const storeKey = storeKeyFor(cookie.value);
    if (this.#pending.has(storeKey)) return anonymous('unknown_session', this.#clearCookieValue);
    let cached = this.#cache.get(storeKey, now);
    if (cached !== undefined) this.#metrics?.cacheHit();
    else {
      this.#metrics?.cacheMiss();
      cached = await this.#load(storeKey, now);
    }
    if (cached === undefined) return anonymous('unknown_session', this.#clearCookieValue);
    const record = cached.record;

    if (record.absoluteExpiresAt <= now || record.idleExpiresAt <= now) {
      await this.revoke(storeKey);
      return anonymous(record.absoluteExpiresAt <= now ? 'absolute_timeout' : 'idle_timeout', this.#clearCookieValue);
    }
    if (record.accessTokenExpiresAt * 1000 <= now) {
      // Mosaic: never extend with a refresh token. The session ends; a silent login renews it.
      await this.revoke(storeKey);
      return { authenticated: false, reason: 'access_token_expired', clearCookie: this.#clearCookieValue, renew: this.#config.silentAuth };
    }
    if (record.binding !== undefined && client !== undefined && this.#binding.mode !== 'off') {
      const mismatched = this.#binding.mismatches(cookie.value, record.binding, client);
      if (mismatched.length > 0) {
        const mode = this.#binding.mode;
        this.#logger.warn({ session: cached.ref, signal: mismatched.join(','), action: mode }, 'session binding mismatch');
        for (const signal of mismatched) this.#metrics?.bindingMismatch(signal, mode);
        if (mode === 'revoke') {
          await this.revoke(storeKey);
          return anonymous('binding_mismatch', this.#clearCookieValue);
        }
      }
    }
    if (now - record.lastSeenAt >= this.#touchEveryMs) this.#touch(storeKey, record, now);
    const session = sessionOf(cached.ref, record);
    storeKeys.set(session, storeKey);
    return { authenticated: true, session };
  }

  /** Reads a session from the store into the cache; concurrent callers share the read. */
  #load(storeKey: string, now: number): Promise<CachedSession | undefined> {
    const inFlight = this.#loading.get(storeKey);
    if (inFlight !== undefined) return inFlight;
    const generation = this.#cache.generation;
    const loading: Promise<CachedSession | undefined> = this.#store.get(storeKey).then(
      (record) => {
        if (this.#loading.get(storeKey) === loading) this.#loading.delete(storeKey);
        if (record === undefined) return undefined;
        const ref = sessionRefFor(storeKey);
        // Not cached when an invalidation arrived meanwhile: the read may predate the delete.
        this.#cache.set(storeKey, record, ref, now, generation);
        return { record, ref, until: 0 };
      },
      (err: unknown) => {
        if (this.#loading.get(storeKey) === loading) this.#loading.delete(storeKey);
        throw err;
      },
    );
    this.#loading.set(storeKey, loading);
    return loading;
  }

  /** Drops a session (or, with undefined, every session) from the cache and from reads in flight. */
  #forget(storeKey: string | undefined): void {
    if (storeKey === undefined) {
      this.#cache.clear();
      this.#loading.clear();
    } else {
      this.#cache.delete(storeKey);
      this.#loading.delete(storeKey);
    }
  }

  /** The store key behind a session `authenticate` or `listByUser` returned (undefined for any other object). */
  storeKeyOf(session: Session): string | undefined {
    return storeKeys.get(session);
  }

  /** The tokens of a session `authenticate` or `listByUser` returned (undefined when it has ended since). */
  tokensOf(session: Session): Promise<SessionTokens | undefined> {
    const storeKey = storeKeys.get(session);
    return storeKey === undefined ? Promise.resolve(undefined) : this.tokensFor(storeKey);
  }

  /**
   * The tokens of a store key's session, unsealed; undefined when it has ended. Read from the store
   * apart from the record (`getTokens`), once per cached session: token relay reads them on every
   * request, the per-request check never does.
   */
  async tokensFor(storeKey: string): Promise<SessionTokens | undefined> {
    const cached = this.#cache.get(storeKey, Date.now());
    let sealed = cached?.sealedTokens;
    if (sealed === undefined) {
      sealed = await this.#store.getTokens(storeKey);
      if (sealed === undefined) return undefined;
      if (cached !== undefined) cached.sealedTokens = sealed;
    }
    const json = this.#keys.open(sealed, `session:${storeKey}`);
    return json === undefined ? undefined : (JSON.parse(json) as SessionTokens);
  }

  /** Ends a session. When the store is down, the revocation is kept and retried (and refused here meanwhile), and the error is thrown. */
  async revoke(storeKey: string): Promise<boolean> {
    this.#forget(storeKey);
    const existed = await this.#store.delete(storeKey).catch((err: unknown) => {
      this.#pending.add(storeKey);
      throw err;
    });
    if (existed) this.#logger.info({ session: sessionRefFor(storeKey) }, 'session ended');
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
    for (const { key } of sessions) this.#forget(key);
    return this.#store.deleteByUser(sub);
  }

  /** Revokes one session of `sub` by its opaque reference. */
  async revokeByRef(sub: string, ref: string): Promise<boolean> {
    const match = (await this.#store.listByUser(sub)).find(({ key }) => sessionRefFor(key) === ref);
    return match === undefined ? false : this.revoke(match.key);
  }

  async revokeBySid(sid: string): Promise<number> {
    this.#forget(undefined);
    return this.#store.deleteBySid(sid);
  }

  #touch(storeKey: string, record: SessionRecord, now: number): void {
    const idleExpiresAt = Math.min(now + this.#config.idleTimeoutMs, record.absoluteExpiresAt);
    record.lastSeenAt = now;
    record.idleExpiresAt = idleExpiresAt;
    this.#store.touch(storeKey, now, idleExpiresAt, idleExpiresAt - now).catch((err: unknown) => {
      this.#logger.warn({ session: sessionRefFor(storeKey), error: String(err) }, 'session touch failed');
    });
  }
}

/**
 * Which store key a `Session` object handed out by `authenticate` belongs to. Kept beside the
 * object, never on it: public types name sessions by their opaque `ref` only.
 */
const storeKeys = new WeakMap<Session, string>();

function anonymous(reason: AnonymousReason, clear: string | undefined): AuthResult {
  return { authenticated: false, reason, clearCookie: clear, renew: false };
}

function toSession(storeKey: string, record: SessionRecord): Session {
  const session = sessionOf(sessionRefFor(storeKey), record);
  storeKeys.set(session, storeKey);
  return session;
}

/** A fresh object per request, arrays copied, so no caller can change what the cache holds. */
function sessionOf(ref: string, record: SessionRecord): Session {
  return {
    ref,
    sub: record.sub,
    roles: record.roles.slice(),
    tid: record.tid,
    scope: record.scope,
    amr: record.amr?.slice(),
    acr: record.acr,
    authTime: record.authTime,
    accessTokenExpiresAt: record.accessTokenExpiresAt,
    createdAt: record.createdAt,
    lastSeenAt: record.lastSeenAt,
    idleExpiresAt: record.idleExpiresAt,
    absoluteExpiresAt: record.absoluteExpiresAt,
    userAgent: record.userAgent,
  };
}
