import type { SessionRecord } from '../stores/types.js';

/** A cached live session: the record, its opaque reference (derived once), and when to re-read it. */
export interface CachedSession {
  record: SessionRecord;
  ref: string;
  until: number;
  /** The session's sealed tokens once something read them (token relay): a session's tokens never change. */
  sealedTokens?: string | undefined;
}

interface Entry extends CachedSession {
  /** Its place in the eviction ring. */
  slot: number;
}

/**
 * Live sessions kept in process for a short time, bounded in size, so the hot path does not go
 * to the store on every request. Entries are dropped on local deletes and, for stores shared by
 * several instances, on the store's invalidation messages.
 *
 * When full, the oldest insertion is evicted, in constant time: a ring of keys in insertion order
 * (a `Map`'s own first key is slow to find once many entries have been deleted from its front).
 *
 * A store read that was in flight while a session was invalidated may return the record as it was
 * before the delete (the invalidation message and the read's reply travel on different
 * connections). `generation` lets the caller see that and not cache such a read.
 */
export class SessionCache {
  #entries = new Map<string, Entry>();
  #ring: Array<string | undefined>;
  #next = 0;
  #ttlMs: number;
  #generation = 0;

  constructor(ttlMs: number, max = 10_000) {
    this.#ttlMs = ttlMs;
    this.#ring = new Array<string | undefined>(Math.max(1, max));
  }

  /** Changes whenever an entry is invalidated; compare before and after a store read. */
  get generation(): number {
    return this.#generation;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string, now: number): CachedSession | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Caches `record` unless the cache is off or something was invalidated since `generation`. */
  set(key: string, record: SessionRecord, ref: string, now: number, generation = this.#generation): void {
    if (this.#ttlMs <= 0 || generation !== this.#generation) return;
    const existing = this.#entries.get(key);
    if (existing !== undefined) {
      existing.record = record;
      existing.ref = ref;
      existing.until = now + this.#ttlMs;
      return;
    }
    const slot = this.#next;
    this.#next = (slot + 1) % this.#ring.length;
    // The slot's previous key is the oldest insertion; drop it unless it has since moved on.
    const previous = this.#ring[slot];
    if (previous !== undefined && this.#entries.get(previous)?.slot === slot) this.#entries.delete(previous);
    this.#ring[slot] = key;
    this.#entries.set(key, { record, ref, until: now + this.#ttlMs, slot });
  }

  delete(key: string): void {
    this.#generation++;
    this.#entries.delete(key);
  }

  clear(): void {
    this.#generation++;
    this.#entries.clear();
  }
}
