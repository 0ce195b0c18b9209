import { logger } from '../observability/log.js';

export type InvalidationListener = (key: string | undefined) => void;

/**
 * The listeners of a shared store's invalidation messages (`onInvalidate`). One listener that
 * throws never keeps the message from the others.
 */
export class InvalidationListeners {
  readonly #listeners: InvalidationListener[] = [];

  /** Adds a listener; returns how many there are now. */
  add(listener: InvalidationListener): number {
    return this.#listeners.push(listener);
  }

  notify(key: string | undefined): void {
    for (const listener of this.#listeners) {
      try {
        listener(key);
      } catch (err) {
        logger.error('session invalidation listener failed', { error: String(err) });
      }
    }
  }
}
