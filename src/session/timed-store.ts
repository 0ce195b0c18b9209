import type { LatencySeries, StoreOperation, TesseraMetrics } from '../observability/metrics.js';
import type { SessionStore } from '../stores/types.js';

/**
 * The store as Tessera uses it, each operation timed into
 * `tessera_store_operation_duration_seconds{operation, outcome}`. Only the `SessionStore`
 * interface passes through (a driver's extras, such as `migrate`, are not Tessera's to call).
 */
export function timeStore(store: SessionStore, metrics: TesseraMetrics): SessionStore {
  const timed = <A extends unknown[], R>(operation: StoreOperation, run: (...args: A) => Promise<R>): ((...args: A) => Promise<R>) => {
    const ok: LatencySeries = metrics.storeOperation(operation, 'ok');
    let failed: LatencySeries | undefined;
    return async (...args) => {
      const started = performance.now();
      try {
        const result = await run(...args);
        ok.observeSince(started);
        return result;
      } catch (err) {
        (failed ??= metrics.storeOperation(operation, 'error')).observeSince(started);
        throw err;
      }
    };
  };
  const wrapped: SessionStore = {
    get: timed('get', (key) => store.get(key)),
    getTokens: timed('getTokens', (key) => store.getTokens(key)),
    set: timed('set', (key, record, ttlMs) => store.set(key, record, ttlMs)),
    touch: timed('touch', (key, lastSeenAt, idleExpiresAt, ttlMs) => store.touch(key, lastSeenAt, idleExpiresAt, ttlMs)),
    delete: timed('delete', (key) => store.delete(key)),
    deleteByUser: timed('deleteByUser', (sub) => store.deleteByUser(sub)),
    deleteBySid: timed('deleteBySid', (sid) => store.deleteBySid(sid)),
    listByUser: timed('listByUser', (sub) => store.listByUser(sub)),
    putOnce: timed('putOnce', (key, ttlMs) => store.putOnce(key, ttlMs)),
    ping: timed('ping', () => store.ping()),
    close: () => store.close(),
  };
  if (store.onInvalidate !== undefined) wrapped.onInvalidate = (listener) => store.onInvalidate!(listener);
  return wrapped;
}
