import { TesseraError } from '../errors.js';

/**
 * The one place where a store driver's failure (connection refused, timeout, closed pool, SQLite
 * I/O error, …) becomes a Tessera error: `ERR_STORE_UNAVAILABLE` (transient, HTTP 503, from the
 * catalogue in src/errors.ts), driver error as cause.
 */
export function storeUnavailable(store: string, operation: string, cause: unknown): TesseraError {
  if (cause instanceof TesseraError) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new TesseraError('ERR_STORE_UNAVAILABLE', `session store (${store}) unavailable during ${operation}: ${detail}`, { cause });
}

/** Runs one store operation, turning any driver error into `ERR_STORE_UNAVAILABLE`. */
export async function guard<T>(store: string, operation: string, run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw storeUnavailable(store, operation, err);
  }
}

/** Rejects with `ERR_STORE_UNAVAILABLE` when `promise` has not settled within `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number, store: string, operation: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(storeUnavailable(store, operation, new Error(`no answer within ${ms} ms`))), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

export function closedError(store: string): TesseraError {
  return new TesseraError('ERR_STORE_UNAVAILABLE', `session store (${store}) is closed`);
}
