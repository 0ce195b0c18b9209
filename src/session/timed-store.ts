import type { LatencySeries, StoreOperation, TesseraMetrics } from '../observability/metrics.js';
import { SpanKind, withSpan, type Attributes } from '../observability/tracing.js';
import type { SessionStore } from '../stores/types.js';

/**
 * The store as Tessera uses it, each operation timed into
 * `tessera_store_operation_duration_seconds{operation, outcome}` and traced as a CLIENT span
 * `tessera.store.<operation>` (`db.system` from `dbSystem`, when known; never a key or a record).
 * Only the `SessionStore` interface passes through (a driver's extras, such as `migrate`, are not
 * Tessera's to call). A request answered from the session cache calls no store, so makes no span.
 */
export function timeStore(store: SessionStore, metrics: TesseraMetrics, dbSystem?: string): SessionStore {
  const timed = <A extends unknown[], R>(operation: StoreOperation, run: (...args: A) => Promise<R>): ((...args: A) => Promise<R>) => {
    const ok: LatencySeries = metrics.storeOperation(operation, 'ok');
    let failed: LatencySeries | undefined;
    const name = `tessera.store.${operation}`;
    // Built once: the SDK copies attributes into each span, the no-op API ignores them.
    const attributes: Attributes = Object.freeze({
      ...(dbSystem === undefined ? {} : { 'db.system': dbSystem, 'db.system.name': dbSystem }),
      'db.operation.name': operation,
    });
    const measured = async (...args: A): Promise<R> => {
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
    return (...args) => withSpan(name, attributes, () => measured(...args), SpanKind.CLIENT);
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

/** The `db.system` of a `TESSERA_STORE` value (OpenTelemetry's names; `memory` for the in-process store). */
export function dbSystemOf(spec: string): string | undefined {
  const scheme = /^([a-z-]+):/i.exec(spec)?.[1]?.toLowerCase();
  if (scheme === undefined) return undefined;
  if (scheme.startsWith('redis')) return 'redis';
  if (scheme === 'postgres' || scheme === 'postgresql') return 'postgresql';
  if (scheme === 'sqlite' || scheme === 'memory') return scheme;
  return undefined;
}
