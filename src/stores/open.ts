import { memoryStore } from './memory.js';
import { postgresStore } from './postgres.js';
import { redisStore } from './redis/index.js';
import { sqliteStore } from './sqlite.js';
import type { SessionStore } from './types.js';
import type { Logger } from '../observability/log.js';
import { describeStore, parseStoreSpec, type OpenStoreOptions } from '../config/store-spec.js';

export { describeStore, parseStoreSpec, type OpenStoreOptions, type StoreSpec } from '../config/store-spec.js';

/** Opens the store a `TESSERA_STORE` value names. Connections are made lazily, on first use. */
export function openStore(spec: string, options: OpenStoreOptions & { logger?: Logger } = {}): SessionStore {
  const parsed = parseStoreSpec(spec, options);
  const logger = options.logger === undefined ? {} : { logger: options.logger };
  switch (parsed.kind) {
    case 'memory':
      return memoryStore();
    case 'sqlite':
      return sqliteStore({ path: parsed.path, ...logger });
    case 'redis':
    case 'redis-cluster':
    case 'redis-sentinel': {
      const { kind: _, prefix: fromUrl, ...connection } = parsed;
      const prefix = options.prefix ?? fromUrl;
      return redisStore(connection, { ...(prefix === undefined ? {} : { prefix }), ...logger });
    }
    case 'postgres': {
      const table = options.table ?? parsed.table;
      return postgresStore({ connectionString: parsed.connectionString, ...(table === undefined ? {} : { table }), ...logger });
    }
  }
}

/**
 * Creates what the store needs (for `tessera store migrate`): the Postgres tables and indexes, or
 * the SQLite file. Memory and Redis need nothing. Returns the masked description of the store.
 */
export async function migrateStore(spec: string, options: OpenStoreOptions = {}): Promise<string> {
  const parsed = parseStoreSpec(spec, options);
  if (parsed.kind === 'postgres' || parsed.kind === 'sqlite') {
    const store = openStore(spec, options);
    try {
      if ('migrate' in store && typeof store.migrate === 'function') await (store.migrate as () => Promise<void>)();
      else await store.ping();
    } finally {
      await store.close();
    }
  }
  return describeStore(spec);
}

