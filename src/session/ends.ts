/**
 * Session ends, told to whoever holds a live connection for a session (a WebSocket, a streaming
 * response). Every way a session ends is either a store delete (logout, revocation by anyone,
 * back-channel logout, the timeouts the session check finds) — seen here through the store,
 * locally at once and from other instances through the store's invalidation channel — or the
 * passing of a time the record names (idle and absolute timeouts, access-token expiry), watched
 * here with one ticker while anything is watched.
 */
import { silentLogger, type Logger } from '../observability/log.js';
import type { SessionStore } from '../stores/types.js';

export type SessionEndReason = 'revoked' | 'idle_timeout' | 'absolute_timeout' | 'access_token_expired';

export interface SessionEnd {
  reason: SessionEndReason;
}

export type SessionEndListener = (end: SessionEnd) => void;

/** The times of a session that end it (epoch ms, access-token expiry in epoch seconds, as on `Session`). */
export interface SessionTimes {
  sub: string;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  accessTokenExpiresAt: number;
}

interface Watched {
  key: string;
  sub: string;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  accessTokenExpiresAtMs: number;
  listeners: Set<SessionEndListener>;
  since: number;
  /** A store read for this session is in flight. */
  checking: boolean;
}

/** How often deadlines are looked at: well inside the 2 s in which a connection must close. */
const tickMs = 250;
/** How long an ended key is remembered, for a watch that starts just after the end (a request decided just before it). */
const rememberMs = 10_000;

export class SessionEnds {
  readonly #watched = new Map<string, Watched>();
  readonly #ended = new Map<string, { reason: SessionEndReason; at: number }>();
  readonly #store: SessionStore;
  readonly #logger: Logger;
  /** Without an invalidation channel, ends in other processes are found by reading the store this often. */
  readonly #recheckEveryMs: number | undefined;
  #ticker: NodeJS.Timeout | undefined;
  #lastRecheck = Date.now();

  constructor(store: SessionStore, options: { logger?: Logger; recheckEveryMs?: number } = {}) {
    this.#store = store;
    this.#logger = options.logger ?? silentLogger;
    this.#recheckEveryMs = store.onInvalidate === undefined ? options.recheckEveryMs : undefined;
    store.onInvalidate?.((key) => (key === undefined ? this.recheck() : this.ended(key, 'revoked')));
  }

  /**
   * Calls `listener` once when the session behind `key` ends; returns the function that stops
   * watching. A session that ended a moment ago is told at once (on the next tick of the loop).
   */
  watch(key: string, times: SessionTimes, listener: SessionEndListener): () => void {
    const ended = this.#ended.get(key);
    if (ended !== undefined) {
      let live = true;
      queueMicrotask(() => live && listener({ reason: ended.reason }));
      return () => (live = false);
    }
    let entry = this.#watched.get(key);
    if (entry === undefined) {
      entry = {
        key,
        sub: times.sub,
        idleExpiresAt: times.idleExpiresAt,
        absoluteExpiresAt: times.absoluteExpiresAt,
        accessTokenExpiresAtMs: times.accessTokenExpiresAt * 1000,
        listeners: new Set(),
        since: Date.now(),
        checking: false,
      };
      this.#watched.set(key, entry);
      this.#startTicker();
    } else if (times.idleExpiresAt > entry.idleExpiresAt) {
      entry.idleExpiresAt = times.idleExpiresAt;
    }
    const watched = entry;
    watched.listeners.add(listener);
    return () => {
      watched.listeners.delete(listener);
      if (watched.listeners.size === 0 && this.#watched.get(key) === watched) this.#unwatch(key);
    };
  }

  /** The session behind `key` has ended: every listener is told, once. */
  ended(key: string, reason: SessionEndReason): void {
    if (!this.#ended.has(key)) this.#ended.set(key, { reason, at: Date.now() });
    this.#startTicker();
    const entry = this.#watched.get(key);
    if (entry === undefined) return;
    this.#unwatch(key);
    // A delete after a deadline passed (the session check found it first) ended the session for that reason.
    const told = reason === 'revoked' ? reasonAt(entry, Date.now()) : reason;
    for (const listener of entry.listeners) {
      try {
        listener({ reason: told });
      } catch (err) {
        this.#logger.error({ error: String(err) }, 'session end listener failed');
      }
    }
  }

  /** Every session of `sub` has ended (all of a user's sessions deleted). */
  endedForUser(sub: string): void {
    for (const entry of [...this.#watched.values()]) if (entry.sub === sub) this.ended(entry.key, 'revoked');
  }

  /** Some sessions may have ended without their keys being named: each watched one is read again. */
  recheck(): void {
    for (const entry of this.#watched.values()) this.#check(entry, Date.now());
  }

  /** How many sessions are watched (for tests and metrics). */
  get size(): number {
    return this.#watched.size;
  }

  close(): void {
    if (this.#ticker !== undefined) clearInterval(this.#ticker);
    this.#ticker = undefined;
    this.#watched.clear();
    this.#ended.clear();
  }

  #unwatch(key: string): void {
    this.#watched.delete(key);
  }

  #startTicker(): void {
    if (this.#ticker !== undefined) return;
    this.#ticker = setInterval(() => this.#tick(), tickMs);
    this.#ticker.unref();
  }

  #tick(): void {
    const now = Date.now();
    for (const [key, { at }] of this.#ended) if (now - at > rememberMs) this.#ended.delete(key);
    const recheck = this.#recheckEveryMs !== undefined && now - this.#lastRecheck >= this.#recheckEveryMs;
    if (recheck) this.#lastRecheck = now;
    for (const entry of [...this.#watched.values()]) {
      if (entry.absoluteExpiresAt <= now) this.#expire(entry, 'absolute_timeout');
      else if (entry.accessTokenExpiresAtMs <= now) this.#expire(entry, 'access_token_expired');
      else if (entry.idleExpiresAt <= now || (recheck && now - entry.since >= this.#recheckEveryMs!)) this.#check(entry, now);
    }
    if (this.#watched.size === 0 && this.#ended.size === 0 && this.#ticker !== undefined) {
      clearInterval(this.#ticker);
      this.#ticker = undefined;
    }
  }

  /** A fixed deadline passed: the session ends now, here, and is deleted so that every instance agrees. */
  #expire(entry: Watched, reason: SessionEndReason): void {
    this.ended(entry.key, reason);
    this.#store.delete(entry.key).catch((err: unknown) => {
      this.#logger.warn({ error: String(err) }, 'expired session not deleted; the store drops it at its expiry');
    });
  }

  /** Reads the record: gone means ended; a later idle expiry (another request touched it) is taken. */
  #check(entry: Watched, now: number): void {
    if (entry.checking) return;
    entry.checking = true;
    this.#store.get(entry.key).then(
      (record) => {
        entry.checking = false;
        if (this.#watched.get(entry.key) !== entry) return;
        if (record === undefined) {
          this.ended(entry.key, entry.idleExpiresAt <= now ? 'idle_timeout' : 'revoked');
          return;
        }
        entry.idleExpiresAt = Math.max(entry.idleExpiresAt, record.idleExpiresAt);
        if (record.idleExpiresAt <= Date.now()) this.#expire(entry, 'idle_timeout');
      },
      (err: unknown) => {
        // The store is out: the next tick asks again.
        entry.checking = false;
        this.#logger.warn({ error: String(err) }, 'session end check failed; retrying');
      },
    );
  }
}

function reasonAt(entry: Watched, now: number): SessionEndReason {
  if (entry.absoluteExpiresAt <= now) return 'absolute_timeout';
  if (entry.accessTokenExpiresAtMs <= now) return 'access_token_expired';
  if (entry.idleExpiresAt <= now) return 'idle_timeout';
  return 'revoked';
}

/**
 * The store as the session layer uses it, with every delete told to `ends` — whatever the delete
 * did (a logout whose store write failed still ends the connections of the session).
 */
export function announceEnds(store: SessionStore, ends: SessionEnds): SessionStore {
  return {
    ...store,
    async delete(key) {
      try {
        return await store.delete(key);
      } finally {
        ends.ended(key, 'revoked');
      }
    },
    async deleteByUser(sub) {
      try {
        return await store.deleteByUser(sub);
      } finally {
        ends.endedForUser(sub);
      }
    },
    async deleteBySid(sid) {
      try {
        return await store.deleteBySid(sid);
      } finally {
        ends.recheck();
      }
    },
  };
}
