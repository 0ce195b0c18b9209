import type { Logger } from '../observability/log.js';
import { sessionRefFor } from './ids.js';

/** At most this many revocations wait for the store at once (about 1 MB of keys). */
export const maxPendingRevocations = 10_000;
/** The first retry comes this soon after the store refused; the wait doubles up to `maxRetryMs`. */
const firstRetryMs = 250;
const maxRetryMs = 2_000;

/**
 * Revocations the store could not take (it was down): each is a local tombstone — this instance
 * refuses the session at once — and is retried until the store deletes the session, whose
 * invalidation message then reaches every other instance.
 *
 * Bounded: when `maxPendingRevocations` wait, the oldest is dropped (logged as an error). Kept in
 * memory only: if this process dies before the store returns, the session lives on in the store
 * until its idle timeout (see docs/stores.md).
 */
export class PendingRevocations {
  #keys = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #waitMs = firstRetryMs;
  #running = false;
  #delete: (storeKey: string) => Promise<unknown>;
  #logger: Logger;

  constructor(deleteFromStore: (storeKey: string) => Promise<unknown>, logger: Logger) {
    this.#delete = deleteFromStore;
    this.#logger = logger;
  }

  get size(): number {
    return this.#keys.size;
  }

  has(storeKey: string): boolean {
    return this.#keys.size > 0 && this.#keys.has(storeKey);
  }

  /** Keeps a revocation the store refused, and schedules its retry. */
  add(storeKey: string): void {
    if (!this.#keys.has(storeKey) && this.#keys.size >= maxPendingRevocations) {
      const oldest = this.#keys.values().next().value as string;
      this.#keys.delete(oldest);
      this.#logger.error({ session: sessionRefFor(oldest) }, 'pending revocation dropped: too many waiting for the session store');
    }
    this.#keys.add(storeKey);
    this.#logger.warn({ session: sessionRefFor(storeKey), pending: this.#keys.size }, 'session revocation pending until the session store answers');
    this.#schedule();
  }

  /** Stops retrying (the process is closing). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#running) return;
    this.#timer = setTimeout(() => void this.#retry(), this.#waitMs);
    this.#timer.unref();
  }

  async #retry(): Promise<void> {
    this.#timer = undefined;
    this.#running = true;
    try {
      for (const storeKey of [...this.#keys]) {
        await this.#delete(storeKey);
        this.#keys.delete(storeKey);
        this.#logger.info({ session: sessionRefFor(storeKey) }, 'pending session revocation done');
      }
      this.#waitMs = firstRetryMs;
    } catch {
      this.#waitMs = Math.min(this.#waitMs * 2, maxRetryMs);
    } finally {
      this.#running = false;
    }
    if (this.#keys.size > 0) this.#schedule();
  }
}
