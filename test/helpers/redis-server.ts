/**
 * Private redis-server processes for tests: on free loopback ports, in temporary directories,
 * stopped by the test that started them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether a TCP port on 127.0.0.1 can be bound right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

import { freePort } from './ports.js';

export { freePort };

/** Sends PING over a raw socket; true when a Redis answers +PONG (or asks for auth). */
export function pingRedis(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => finish(/^(\+PONG|-NOAUTH)/.test(data.toString())));
  });
}

export function redisServerAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  /** Stops the server (SIGTERM, or the given signal) and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Sends a signal without waiting (SIGSTOP / SIGCONT freeze and thaw it). */
  signal(signal: NodeJS.Signals): void;
  /** Starts it again on the same port, directory and arguments. */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts `redis-server` on a free port without persistence unless `args` turn it on. */
export async function startRedisServer(options: { port?: number; dir?: string; args?: string[] } = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'tessera-redis-')));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', ...(options.args ?? [])];
  let child: ChildProcess;
  let output = '';
  const launch = async () => {
    output = '';
    child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await waitUntil(async () => {
        if (child.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
        return pingRedis(port);
      }, 10_000, `redis-server on port ${port} did not answer`);
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
  };
  await launch();
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const done = exited(child);
    child.kill(signal);
    await done;
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    stop,
    signal: (signal) => void child.kill(signal),
    restart: launch,
    async dispose() {
      await stop();
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A Redis for a test file: `TESSERA_TEST_REDIS_URL`, else 127.0.0.1:6379 when it answers, else a
 * private redis-server. `skip` explains why none could be had (a failure when CI is set).
 */
export async function useRedis(): Promise<{ url: string; dispose(): Promise<void> } | { skip: string }> {
  const fromEnv = process.env.TESSERA_TEST_REDIS_URL;
  if (fromEnv !== undefined && fromEnv !== '') return { url: fromEnv, dispose: async () => undefined };
  if (await pingRedis(6379)) return { url: 'redis://127.0.0.1:6379', dispose: async () => undefined };
  if (!redisServerAvailable()) return { skip: 'no Redis on 127.0.0.1:6379 and no redis-server binary on PATH' };
  const server = await startRedisServer();
  return { url: server.url, dispose: () => server.dispose() };
}

/** Fails instead of skipping when CI is set. */
export function skipOrFail(reason: string): { skip: string } {
  if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') {
    throw new Error(`${reason} (CI is set, so a missing service is a failure)`);
  }
  return { skip: reason };
}

/**
 * A master and one Sentinel watching it as `name`. The Sentinel needs a writable config file, which
 * it rewrites; both live in one temporary directory.
 */
export async function startRedisSentinel(name = 'mymaster'): Promise<{ master: RedisServer; sentinelPort: number; name: string; dispose(): Promise<void> }> {
  const master = await startRedisServer();
  const sentinelPort = await freePort();
  const config = join(master.dir, 'sentinel.conf');
  await writeFile(
    config,
    [`port ${sentinelPort}`, 'bind 127.0.0.1', `dir ${master.dir}`, `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`, `sentinel down-after-milliseconds ${name} 5000`, ''].join('\n'),
  );
  const sentinel = spawn('redis-server', [config, '--sentinel'], { stdio: 'ignore' });
  const stopSentinel = async () => {
    const done = exited(sentinel);
    sentinel.kill('SIGTERM');
    await done;
  };
  try {
    await waitUntil(async () => {
      if (sentinel.exitCode !== null) throw new Error('redis sentinel exited');
      return pingRedis(sentinelPort);
    }, 10_000, `redis sentinel on port ${sentinelPort} did not answer`);
  } catch (err) {
    await stopSentinel();
    await master.dispose();
    throw err;
  }
  return {
    master,
    sentinelPort,
    name,
    async dispose() {
      await stopSentinel();
      await master.dispose();
    },
  };
}
