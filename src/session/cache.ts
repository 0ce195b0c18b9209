import type { SessionRecord } from '../stores/types.js';

/**
 * Live sessions kept in process for a short time, bounded in size, so the hot path does not go
 * to the store on every request. Entries are dropped on local deletes and, for stores shared by
 * several instances, on the store's invalidation messages.
 */
export class SessionCache {
  #entries = new Map<string, { record: SessionRecord; until: number }>();
  #ttlMs: number;
  #max: number;

  constructor(ttlMs: number, max = 10_000) {
    this.#ttlMs = ttlMs;
    this.#max = max;
  }

  get(key: string, now: number): SessionRecord | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.record;
  }

  set(key: string, record: SessionRecord, now: number): void {
    if (this.#ttlMs <= 0) return;
    if (this.#entries.size >= this.#max) {
      // Drop the oldest insertion: Map iterates in insertion order.
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, { record, until: now + this.#ttlMs });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}
