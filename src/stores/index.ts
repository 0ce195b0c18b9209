export type { SessionRecord, SessionStore } from './types.js';
export { memoryStore, type MemoryStoreOptions } from './memory.js';
export { sqliteStore, type SqliteStoreOptions } from './sqlite.js';
export { redisStore, type RedisConnection, type RedisNode, type RedisStoreOptions } from './redis/index.js';
export { postgresStore, type PostgresSessionStore, type PostgresStoreOptions } from './postgres.js';
export { describeStore, migrateStore, openStore, parseStoreSpec, type OpenStoreOptions, type StoreSpec } from './open.js';
