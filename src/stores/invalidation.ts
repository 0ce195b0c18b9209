import { silentLogger, type Logger } from '../observability/log.js';

export type InvalidationListener = (key: string | undefined) => void;

/**
 * The listeners of a shared store's invalidation messages (`onInvalidate`). One listener that
 * throws never keeps the message from the others.
 */
export class InvalidationListeners {
  readonly #listeners: InvalidationListener[] = [];
  readonly #logger: Logger;

  constructor(logger: Logger = silentLogger) {
    this.#logger = logger;
  }

  /** Adds a listener; returns how many there are now. */
  add(listener: InvalidationListener): number {
    return this.#listeners.push(listener);
  }

  notify(key: string | undefined): void {
    for (const listener of this.#listeners) {
      try {
        listener(key);
      } catch (err) {
        this.#logger.error({ error: String(err) }, 'session invalidation listener failed');
      }
    }
  }
}

/*
 * The invalidation message every shared store sends (Redis PUBLISH, PostgreSQL NOTIFY): a JSON
 * array of the deleted session keys.
 */

/**
 * The messages announcing `keys`, each at most `maxBytes` long (PostgreSQL NOTIFY payloads are
 * limited to 8000 bytes); none for no keys.
 */
export function encodeInvalidation(keys: readonly string[], maxBytes = Infinity): string[] {
  const messages: string[] = [];
  let batch: string[] = [];
  let size = 2; // the brackets
  for (const key of keys) {
    const length = Buffer.byteLength(JSON.stringify(key)) + 1; // and a comma
    if (batch.length > 0 && size + length > maxBytes) {
      messages.push(JSON.stringify(batch));
      batch = [];
      size = 2;
    }
    batch.push(key);
    size += length;
  }
  if (batch.length > 0) messages.push(JSON.stringify(batch));
  return messages;
}

/** The keys an invalidation message names; none when it is not one this code sent. */
export function decodeInvalidation(message: string): string[] {
  let keys: unknown;
  try {
    keys = JSON.parse(message);
  } catch {
    return [];
  }
  return Array.isArray(keys) ? keys.filter((key): key is string => typeof key === 'string') : [];
}
