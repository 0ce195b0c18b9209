/**
 * The Redis client a store talks through: standalone, Sentinel or Cluster, and whether it can
 * take commands right now.
 *
 * Outages: the client does not queue commands while disconnected, commands time out after
 * 1.5 s, and it keeps reconnecting (backoff up to 2 s) — so calls reject quickly with
 * `ERR_STORE_UNAVAILABLE` (503) while Redis is down, and work again by themselves once it is back.
 */
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type * as Ioredis from 'ioredis';
import type { RedisNode } from '../../config/store-spec.js';
import type { Logger } from '../../observability/log.js';
import { loadDriver } from '../driver.js';

export type { RedisNode };

export type RedisClient = Redis | Cluster;

export type RedisConnection =
  | { url: string }
  | { nodes: RedisNode[]; username?: string; password?: string; tls?: boolean }
  | { sentinels: RedisNode[]; name: string; username?: string; password?: string; sentinelPassword?: string; tls?: boolean }
  /** A client you own: the store uses it (and a duplicate for invalidation messages) but never closes it. */
  | { client: Redis | Cluster };

/** How long a call waits for a first connection, and how long any call may take. */
const connectTimeoutMs = 2000;
const commandTimeoutMs = 1500;
export const callDeadlineMs = 2500;

const clientOptions: RedisOptions = {
  connectTimeout: connectTimeoutMs,
  commandTimeout: commandTimeoutMs,
  maxRetriesPerRequest: 1,
  // While disconnected, fail at once instead of queueing (a queued write could land long after
  // its caller was told it failed). The first connection is awaited in `connected()` below.
  enableOfflineQueue: false,
  retryStrategy: (times) => Math.min(times * 200, 2000),
};

export function isCluster(client: RedisClient): client is Cluster {
  return client.isCluster;
}

/** A new client for `connection`; ioredis is loaded here, on the first Redis store. */
export function createClient(connection: Exclude<RedisConnection, { client: Redis | Cluster }>): RedisClient {
  const { Cluster, Redis } = loadDriver<typeof Ioredis>('ioredis', 'Redis');
  if ('url' in connection) return new Redis(connection.url, clientOptions);
  const tls = 'tls' in connection && connection.tls === true ? { tls: {} } : {};
  if ('nodes' in connection) {
    const options: ClusterOptions = {
      enableOfflineQueue: false,
      clusterRetryStrategy: (times) => Math.min(times * 200, 2000),
      slotsRefreshTimeout: connectTimeoutMs,
      // A promoted replica is found within a second, not only on the next MOVED answer.
      slotsRefreshInterval: 1000,
      // While a slot has no reachable master, a call gives up after 4 redirections (about 0.3 s)
      // instead of 16 (the command timeout, 1.5 s): the 503 comes sooner. A healthy cluster needs 1–2.
      maxRedirections: 4,
      redisOptions: {
        ...clientOptions,
        ...tls,
        ...(connection.username === undefined ? {} : { username: connection.username }),
        ...(connection.password === undefined ? {} : { password: connection.password }),
      },
    };
    return new Cluster(connection.nodes, options);
  }
  return new Redis({
    ...clientOptions,
    ...tls,
    sentinels: connection.sentinels,
    name: connection.name,
    ...(connection.username === undefined ? {} : { username: connection.username }),
    ...(connection.password === undefined ? {} : { password: connection.password }),
    ...(connection.sentinelPassword === undefined ? {} : { sentinelPassword: connection.sentinelPassword }),
  });
}

export interface ConnectionWatch {
  /** Resolves when commands can be sent; rejects at once during an outage, after ≤ 2 s at startup. */
  connected(): Promise<void>;
  /** Stops watching (for a client the store does not own). */
  detach(): void;
}

/** Follows `client`'s connection: logs losing and regaining it, and answers whether it is up. */
export function watchConnection(client: RedisClient, name: string, isClosed: () => boolean, logger: Logger): ConnectionWatch {
  let everReady = client.status === 'ready';
  let healthy = true;
  const onUp = () => {
    if (!healthy) logger.info({ store: name }, 'session store reconnected');
    everReady = true;
    healthy = true;
  };
  const onDown = (err?: Error) => {
    if (healthy && !isClosed()) logger.warn({ store: name, error: err?.message ?? 'connection closed' }, 'session store connection lost');
    healthy = false;
  };
  const onClose = () => onDown();
  client.on('ready', onUp);
  client.on('error', onDown);
  client.on('close', onClose);

  let readyWait: Promise<void> | undefined;
  const waitForReady = () =>
    (readyWait ??= new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        client.removeListener('ready', onReady);
        client.removeListener('end', onEnd);
        readyWait = undefined;
        if (err === undefined) resolve();
        else reject(err);
      };
      const onReady = () => done();
      const onEnd = () => done(new Error('connection ended'));
      const timer = setTimeout(() => done(new Error(`not connected within ${connectTimeoutMs} ms`)), connectTimeoutMs);
      client.once('ready', onReady);
      client.once('end', onEnd);
    }));

  return {
    async connected() {
      const status = client.status;
      if (status === 'ready') return;
      if (status === 'end') throw new Error('connection ended');
      if (status === 'wait') client.connect().catch(() => undefined);
      if (everReady && (status === 'reconnecting' || status === 'close')) throw new Error(`connection is down (${status})`);
      await waitForReady();
    },
    detach() {
      client.removeListener('ready', onUp);
      client.removeListener('error', onDown);
      client.removeListener('close', onClose);
    },
  };
}
