export { redisStore, type RedisStoreOptions } from './store.js';
export type { RedisConnection, RedisNode } from './connection.js';
