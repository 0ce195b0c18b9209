import cluster, { type Worker } from 'node:cluster';
import { createServer, type Server } from 'node:http';
import { AggregatorRegistry } from 'prom-client';
import { TesseraError } from '../errors.js';
import type { Logger } from '../observability/log.js';
import type { SessionStore } from '../stores/types.js';
import { InvalidationListeners } from '../stores/invalidation.js';

/*
 * `TESSERA_WORKERS`: the gateway on every core with node:cluster. The primary forks the workers,
 * which share the listening socket, and carries three kinds of message between them:
 *
 *   invalidate   a worker deleted sessions; the primary passes it on to every other worker, whose
 *                session caches drop them (the memory of Redis/PostgreSQL pub/sub, for stores that
 *                have none — SQLite; stores with their own channel need nothing from here)
 *   metrics      the primary's metrics listener asks every worker for its registry and answers
 *                the sum (prom-client's AggregatorRegistry)
 *   ready        the same for /readyz: ready when every worker is
 */

type Message =
  | { tessera: 'invalidate'; keys: string[] | null }
  | { tessera: 'metrics'; id: number }
  | { tessera: 'metrics-reply'; id: number; metrics: unknown[] }
  | { tessera: 'ready'; id: number }
  | { tessera: 'ready-reply'; id: number; ready: { ready: boolean; store: boolean; idp: boolean } };

function isMessage(value: unknown): value is Message {
  return typeof value === 'object' && value !== null && typeof (value as { tessera?: unknown }).tessera === 'string';
}

/** What a worker answers the primary with. */
export interface WorkerSide {
  metrics(): Promise<unknown[]>;
  ready(): Promise<{ ready: boolean; store: boolean; idp: boolean }>;
}

/** Whether this process is a gateway worker forked by `runWorkers`. */
export const isWorker = (): boolean => cluster.isWorker;

/**
 * In a worker: `store` with its deletions announced to the other workers, and theirs delivered
 * to this worker's session cache. A store with its own invalidation channel is returned as is.
 */
export function shareInvalidations(store: SessionStore, logger: Logger): SessionStore {
  if (store.onInvalidate !== undefined || !cluster.isWorker) return store;
  const listeners = new InvalidationListeners(logger);
  const announce = (keys: string[] | null) => process.send?.({ tessera: 'invalidate', keys } satisfies Message);
  process.on('message', (message: unknown) => {
    if (!isMessage(message) || message.tessera !== 'invalidate') return;
    if (message.keys === null) listeners.notify(undefined);
    else for (const key of message.keys) listeners.notify(key);
  });
  return {
    get: (key) => store.get(key),
    getTokens: (key) => store.getTokens(key),
    set: (key, record, ttlMs) => store.set(key, record, ttlMs),
    touch: (key, lastSeenAt, idleExpiresAt, ttlMs) => store.touch(key, lastSeenAt, idleExpiresAt, ttlMs),
    async delete(key) {
      const existed = await store.delete(key);
      announce([key]);
      return existed;
    },
    async deleteByUser(sub) {
      const deleted = await store.deleteByUser(sub);
      if (deleted > 0) announce(null);
      return deleted;
    },
    async deleteBySid(sid) {
      const deleted = await store.deleteBySid(sid);
      if (deleted > 0) announce(null);
      return deleted;
    },
    listByUser: (sub) => store.listByUser(sub),
    putOnce: (key, ttlMs) => store.putOnce(key, ttlMs),
    onInvalidate(listener) {
      listeners.add(listener);
    },
    ping: () => store.ping(),
    close: () => store.close(),
  };
}

/** In a worker, once its gateway is closed: drop the channel to the primary, so the process can exit. */
export function leavePrimary(): void {
  // Through the worker object, so that cluster does not take it as a lost primary and exit 0.
  if (cluster.isWorker) cluster.worker?.disconnect();
}

/** In a worker: answer the primary's metrics and readiness questions. */
export function answerPrimary(side: WorkerSide, logger: Logger): void {
  if (!cluster.isWorker) return;
  process.on('message', (message: unknown) => {
    if (!isMessage(message)) return;
    if (message.tessera === 'metrics') {
      side.metrics().then(
        (metrics) => process.send?.({ tessera: 'metrics-reply', id: message.id, metrics } satisfies Message),
        (err: unknown) => logger.error({ error: String(err) }, 'worker metrics failed'),
      );
    } else if (message.tessera === 'ready') {
      side.ready().then(
        (ready) => process.send?.({ tessera: 'ready-reply', id: message.id, ready } satisfies Message),
        () => process.send?.({ tessera: 'ready-reply', id: message.id, ready: { ready: false, store: false, idp: false } } satisfies Message),
      );
    }
  });
}

export interface WorkersOptions {
  count: number;
  logger: Logger;
  /** Where the primary serves the summed `/metrics`, `/healthz` and `/readyz`. */
  metricsAddress?: { host: string; port: number } | undefined;
  /** How long `close()` waits for the workers to finish their requests before killing them. */
  shutdownTimeoutMs?: number;
}

export interface Workers {
  /** The workers' pids, in fork order (a restarted worker takes its predecessor's place). */
  readonly pids: () => number[];
  readonly metricsUrl: string | undefined;
  /** Stops every worker (SIGTERM, then SIGKILL after the shutdown timeout) and the metrics listener. */
  close(): Promise<void>;
}

/**
 * In the primary: forks `count` workers running the same command, resolves once every one of them
 * listens, restarts a worker that dies (at most 5 restarts a minute, then gives up), and relays
 * the workers' messages.
 */
export async function runWorkers(options: WorkersOptions): Promise<Workers> {
  const { count, logger } = options;
  const slots: Worker[] = [];
  let closing = false;
  let started = false;
  const restarts: number[] = [];
  let pending = 0;
  const waiting = new Map<number, { replies: unknown[]; expect: number; done: (replies: unknown[]) => void }>();

  const onMessage = (from: Worker) => (message: unknown) => {
    if (!isMessage(message)) return;
    if (message.tessera === 'invalidate') {
      for (const worker of slots) if (worker !== from && worker.isConnected()) worker.send(message);
    } else if (message.tessera === 'metrics-reply' || message.tessera === 'ready-reply') {
      const entry = waiting.get(message.id);
      if (entry === undefined) return;
      entry.replies.push(message.tessera === 'metrics-reply' ? message.metrics : message.ready);
      if (entry.replies.length === entry.expect) entry.done(entry.replies);
    }
  };

  const fork = (slot: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const worker = cluster.fork({ TESSERA_WORKER: String(slot + 1) });
      slots[slot] = worker;
      worker.on('message', onMessage(worker));
      worker.once('listening', () => resolve());
      worker.once('exit', (code, signal) => {
        reject(new TesseraError('ERR_CONFIG_WORKER_START', `worker ${slot + 1} exited (${signal ?? code}) before it listened`));
        // A worker that cannot start the first time (a port in use, a bad store) is not restarted: the start fails.
        if (closing || !started || slots[slot] !== worker) return;
        const now = Date.now();
        restarts.push(now);
        while (restarts.length > 0 && restarts[0]! < now - 60_000) restarts.shift();
        if (restarts.length > 5) {
          logger.error({ worker: slot + 1, code, signal }, 'worker died; more than 5 restarts in a minute, stopping');
          process.exitCode = 1;
          void workers.close();
          return;
        }
        logger.error({ worker: slot + 1, code, signal }, 'worker died; starting a new one');
        fork(slot).catch((err: unknown) => logger.error({ error: String(err) }, 'worker restart failed'));
      });
    });

  /** Asks every connected worker; resolves with the replies that came within 5 s. */
  const ask = (tessera: 'metrics' | 'ready'): Promise<unknown[]> => {
    const live = slots.filter((worker) => worker.isConnected());
    const id = ++pending;
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(waiting.get(id)?.replies ?? []), 5000);
      const finish = (replies: unknown[]) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(replies);
      };
      waiting.set(id, { replies: [], expect: live.length, done: finish });
      if (live.length === 0) finish([]);
      for (const worker of live) worker.send({ tessera, id } satisfies Message);
    });
  };

  let metrics: Server | undefined;
  let metricsUrl: string | undefined;
  const workers: Workers = {
    pids: () => slots.map((worker) => worker.process.pid ?? 0),
    get metricsUrl() {
      return metricsUrl;
    },
    async close() {
      if (closing) return;
      closing = true;
      const exits = slots.map((worker) => new Promise<void>((resolve) => {
        if (worker.process.exitCode !== null || worker.process.signalCode !== null) return resolve();
        worker.once('exit', () => resolve());
      }));
      for (const worker of slots) worker.process.kill('SIGTERM');
      const timer = setTimeout(() => {
        for (const worker of slots) worker.process.kill('SIGKILL');
      }, options.shutdownTimeoutMs ?? 10_000);
      await Promise.all(exits);
      clearTimeout(timer);
      if (metrics) await new Promise<void>((resolve) => metrics!.close(() => resolve()));
    },
  };

  try {
    await Promise.all(Array.from({ length: count }, (_, slot) => fork(slot)));
    started = true;
  } catch (err) {
    await workers.close();
    throw err;
  }

  if (options.metricsAddress !== undefined) {
    const { host, port } = options.metricsAddress;
    metrics = createServer({ maxHeaderSize: 8 * 1024, requestTimeout: 10_000 }, (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('Use GET.\n');
      if (path === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      if (path === '/metrics') {
        ask('metrics').then(async (replies) => {
          const registry = AggregatorRegistry.aggregate(replies as Parameters<typeof AggregatorRegistry.aggregate>[0]);
          res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(await registry.metrics());
        }).catch((err: unknown) => {
          logger.error({ error: String(err) }, 'metrics request failed');
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('Internal error.\n');
        });
        return;
      }
      if (path === '/readyz') {
        void ask('ready').then((replies) => {
          const states = replies as Array<{ ready: boolean; store: boolean; idp: boolean }>;
          const all = (field: 'ready' | 'store' | 'idp') => states.length === count && states.every((s) => s[field]);
          const body = { ready: all('ready'), store: all('store'), idp: all('idp'), workers: { expected: count, answered: states.length } };
          res.writeHead(body.ready ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(`${JSON.stringify(body)}\n`);
        });
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: /metrics, /healthz and /readyz are served here.\n');
    });
    await new Promise<void>((resolve, reject) => {
      metrics!.once('error', reject);
      metrics!.listen(port, host, () => resolve());
    }).catch(async (err: unknown) => {
      await workers.close();
      throw err;
    });
    const address = metrics.address();
    metricsUrl = `http://${host.includes(':') ? `[${host}]` : host}:${typeof address === 'object' && address ? address.port : port}`;
  }
  return workers;
}
