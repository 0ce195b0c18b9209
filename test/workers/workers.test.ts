// TESSERA_WORKERS: `tessera serve` on node:cluster, run as the CLI runs it. Every store that can be
// shared by processes: a session signed in on one worker is valid on all; a logout taken by one
// worker is refused at once by the others, though each had the session in its cache; the
// primary sums the workers' metrics; WebSockets of the session close on every worker; SIGTERM
// stops them all and exits 0.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { startDevIdp, type DevIdp } from '../../src/dev-idp/index.js';
import { generateKeyEntry } from '../../src/keys/index.js';
import { Browser } from '../helpers/browser.js';
import { freePort } from '../helpers/ports.js';
import { startWsUpstream, openWs, echo, closesWithin } from '../websocket/support.js';
import { useRedis } from '../helpers/redis-server.js';
import { postgresSkip, postgresUrl } from '../helpers/postgres.js';
import { runCli } from '../helpers/cli.js';
import pg from 'pg';

const entry = fileURLToPath(new URL('../helpers/cli-entry.ts', import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

interface Served {
  url: string;
  metricsUrl: string;
  child: ChildProcess;
  output(): string;
  workerPids: number[];
}

/** Starts `tessera serve` with workers; another process may take a free port first: then again on new ports. */
async function serve(env: Record<string, string>): Promise<Served> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await serveOnce(env);
    } catch (err) {
      if (attempt === 3 || !/already in use|EADDRINUSE/.test(String(err))) throw err;
    }
  }
}

async function serveOnce(env: Record<string, string>): Promise<Served> {
  const port = await freePort();
  const metricsPort = await freePort();
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TESSERA_')));
  const child = spawn(process.execPath, ['--import', tsx, entry, 'serve'], {
    env: { ...clean, TESSERA_PORT: String(port), TESSERA_PUBLIC_URL: `http://localhost:${port}`, TESSERA_METRICS_ADDRESS: `127.0.0.1:${metricsPort}`, TESSERA_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  for (let i = 0; i < 300 && !output.includes('gateway workers listening'); i++) {
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  const line = output.split('\n').find((l) => l.includes('gateway workers listening'));
  if (line === undefined) {
    child.kill('SIGKILL');
    throw new Error(`tessera serve with workers did not start:\n${output}`);
  }
  return { url: `http://localhost:${port}`, metricsUrl: `http://127.0.0.1:${metricsPort}`, child, output: () => output, workerPids: (JSON.parse(line) as { pids: number[] }).pids };
}

async function stop(served: Served): Promise<number | null> {
  if (served.child.exitCode !== null) return served.child.exitCode;
  const exited = new Promise<number | null>((resolve) => served.child.once('exit', (code) => resolve(code)));
  served.child.kill('SIGTERM');
  const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
  if (code === 'timeout') {
    served.child.kill('SIGKILL');
    for (const pid of served.workerPids) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    throw new Error('tessera serve did not exit within 15 s of SIGTERM');
  }
  return code;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** `count` requests, each on a connection of its own, so the cluster spreads them over the workers. */
async function freshConnections(url: string, cookie: string, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    const dispatcher = new Agent({ pipelining: 0 });
    const res = await request(`${url}/api/me`, { headers: { cookie, accept: 'application/json' }, dispatcher });
    await res.body.dump();
    statuses.push(res.statusCode);
    await dispatcher.close();
  }
  return statuses;
}

async function metricValue(metricsUrl: string, name: string, labels: string): Promise<number> {
  const res = await request(`${metricsUrl}/metrics`);
  const text = await res.body.text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

let idp: DevIdp;
let upstream: Awaited<ReturnType<typeof startWsUpstream>>;
const dir = mkdtempSync(join(tmpdir(), 'tessera-workers-'));

before(async () => {
  idp = await startDevIdp({ port: 0, dataDir: join(dir, 'idp'), quiet: true });
  upstream = await startWsUpstream();
});
after(async () => {
  await upstream.close();
  await idp.close();
  rmSync(dir, { recursive: true, force: true });
});

const baseEnv = () => ({
  TESSERA_ISSUER: idp.issuer,
  TESSERA_DISCOVERY_URL: idp.discoveryUrl,
  TESSERA_CLIENT_ID: 'tessera-dev',
  TESSERA_CLIENT_SECRET: 'tessera-dev-secret',
  TESSERA_KEYS: generateKeyEntry(),
  TESSERA_UPSTREAM: upstream.url,
  TESSERA_WORKERS: '2',
});

const stores: Array<{ name: string; store: () => Promise<Record<string, string> | { skip: string }> }> = [
  { name: 'SQLite', store: async () => ({ TESSERA_STORE: `sqlite:${join(dir, `sessions-${Date.now()}.db`)}` }) },
  {
    name: 'Redis',
    store: async () => {
      const redis = await useRedis();
      if ('skip' in redis) return redis;
      after(() => redis.dispose());
      return { TESSERA_STORE: `${redis.url}?prefix=tessera-workers-${process.pid}-${Date.now()}:` };
    },
  },
  {
    name: 'PostgreSQL',
    store: async () => {
      const skip = await postgresSkip();
      if (skip) return { skip };
      const table = `tessera_workers_${process.pid}_${Date.now()}`;
      after(async () => {
        const client = new pg.Client({ connectionString: postgresUrl });
        await client.connect();
        await client.query(`DROP TABLE IF EXISTS "${table}_tokens", "${table}", "${table}_once"`);
        await client.end();
      });
      return { TESSERA_STORE: `${postgresUrl}?table=${table}` };
    },
  },
];

for (const { name, store } of stores) {
  describe(`TESSERA_WORKERS=2 with ${name}`, () => {
    test('sessions, logout and metrics across workers; SIGTERM stops every worker', async (t) => {
      const storeEnv = await store();
      if ('skip' in storeEnv) return void t.skip(storeEnv.skip);
      const served = await serve({ ...baseEnv(), ...storeEnv });
      try {
        assert.equal(served.workerPids.length, 2);
        assert.ok(served.workerPids.every(alive));

        const browser = new Browser();
        const page = await browser.signIn(`${served.url}/auth/login?returnTo=/`, { username: 'alice', password: 'alice' });
        assert.equal(page.status, 200, page.text.slice(0, 200));
        const cookie = browser.jar.header(served.url);
        assert.ok(cookie.includes('tessera='), 'a session cookie was set');

        // Each request on a connection of its own: round-robin puts them on both workers, and
        // both cache the session.
        const before = await freshConnections(served.url, cookie, 8);
        assert.deepEqual(before, Array(8).fill(200));
        const served0 = await metricValue(served.metricsUrl, 'tessera_authentications_total', 'outcome="authenticated"');
        assert.ok(served0 >= 8, `the primary sums both workers' metrics (authenticated: ${served0})`);

        // WebSockets of the session, each on a connection of its own: both workers hold some.
        const port = Number(new URL(served.url).port);
        const sockets = await Promise.all(Array.from({ length: 4 }, () => openWs(port, '/live', { cookie, origin: served.url })));
        for (const ws of sockets) assert.equal(await echo(ws.socket, 'ping'), 'ping');

        const loggedOutAt = performance.now();
        const logout = await request(`${served.url}/auth/logout`, { method: 'POST', headers: { cookie, origin: served.url, accept: 'application/json' } });
        await logout.body.dump();
        assert.ok(logout.statusCode < 400, `logout answered ${logout.statusCode}`);

        // Every socket, on whichever worker holds it, is closed within 2 s with 1008.
        const closes = await Promise.all(sockets.map((ws) => closesWithin(ws.closed, loggedOutAt, 2000)));
        for (const close of closes) assert.deepEqual([close.code, close.reason], [1008, 'session ended']);
        t.diagnostic(`${name}: sockets closed ${closes.map((c) => c.afterMs).join(', ')} ms after the logout began`);

        // At once, on every worker: none may still answer from its cache.
        const afterLogout = await freshConnections(served.url, cookie, 8);
        assert.deepEqual(afterLogout, Array(8).fill(401), 'the logged-out cookie is refused by every worker');

        const ready = await request(`${served.metricsUrl}/readyz`);
        const body = (await ready.body.json()) as { ready: boolean; workers: { expected: number; answered: number } };
        assert.equal(ready.statusCode, 200);
        assert.deepEqual(body.workers, { expected: 2, answered: 2 });
      } finally {
        const code = await stop(served);
        assert.equal(code, 0, `exit code after SIGTERM:\n${served.output().slice(-2000)}`);
        await sleep(200);
        assert.ok(served.workerPids.every((pid) => !alive(pid)), 'every worker has exited');
      }
    });
  });
}

test('a worker that dies is replaced, and the gateway keeps answering', async () => {
  const served = await serve({ ...baseEnv(), TESSERA_STORE: `sqlite:${join(dir, 'restart.db')}` });
  try {
    const [first] = served.workerPids;
    process.kill(first!, 'SIGKILL');
    for (let i = 0; i < 100 && !served.output().includes('worker died; starting a new one'); i++) await sleep(100);
    assert.match(served.output(), /worker died; starting a new one/);
    // The new worker answers the primary once it listens.
    let answered = 0;
    for (let i = 0; i < 100 && answered !== 2; i++) {
      const ready = await request(`${served.metricsUrl}/readyz`);
      answered = ((await ready.body.json()) as { workers: { answered: number } }).workers.answered;
      if (answered !== 2) await sleep(100);
    }
    assert.equal(answered, 2, 'two workers answer the primary again');
    const statuses = await freshConnections(served.url, '', 4);
    assert.ok(statuses.every((s) => s === 401), `anonymous API requests answered ${statuses}`);
  } finally {
    assert.equal(await stop(served), 0);
  }
});

test('TESSERA_WORKERS is validated, and the memory store is refused with more than one worker', async () => {
  const env = { ...baseEnv(), TESSERA_PORT: '0' };
  for (const bad of ['0', '65', 'many', '1.5']) {
    const result = await runCli(['check-config'], { ...env, TESSERA_WORKERS: bad });
    assert.equal(result.code, 1, `TESSERA_WORKERS=${bad}`);
    assert.match(result.stderr + result.stdout, /TESSERA_WORKERS: expected auto or a whole number from 1 to 64/);
  }
  const memory = await runCli(['check-config'], { ...env, TESSERA_STORE: 'memory:' });
  assert.equal(memory.code, 1);
  assert.match(memory.stderr + memory.stdout, /TESSERA_WORKERS: the memory store lives in one process/);
  const auto = await runCli(['check-config'], { ...env, TESSERA_WORKERS: 'auto', TESSERA_STORE: `sqlite:${join(dir, 'x.db')}` });
  assert.equal(auto.code, 0, auto.stderr);
});

test('a port in use (the gateway\'s or the metrics listener\'s): `tessera serve`, with one worker or two, exits 1 and names the setting', async () => {
  const { createServer } = await import('node:net');
  const taken = createServer();
  const port = await new Promise<number>((resolve) => taken.listen(0, '127.0.0.1', () => resolve((taken.address() as { port: number }).port)));
  try {
    for (const workers of ['1', '2']) {
      // runCli gives up after 20 s: a start that hangs fails here.
      const result = await runCli(['serve'], {
        ...baseEnv(), TESSERA_WORKERS: workers, TESSERA_STORE: `sqlite:${join(dir, `in-use-${workers}.db`)}`, TESSERA_HOST: '127.0.0.1', TESSERA_PORT: String(port),
      });
      assert.equal(result.code, 1, `TESSERA_WORKERS=${workers}: ${result.stderr}`);
      assert.match(result.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(TESSERA_HOST, TESSERA_PORT\\): the address is already in use`));
      assert.doesNotMatch(result.stderr, /^\s+at /m, 'a message, not a stack');
      const metrics = await runCli(['serve'], {
        ...baseEnv(), TESSERA_WORKERS: workers, TESSERA_STORE: `sqlite:${join(dir, `in-use-m${workers}.db`)}`, TESSERA_HOST: '127.0.0.1', TESSERA_PORT: String(await freePort()),
        TESSERA_METRICS_ADDRESS: `127.0.0.1:${port}`,
      });
      assert.equal(metrics.code, 1, `TESSERA_WORKERS=${workers}, metrics: ${metrics.stderr}`);
      assert.match(metrics.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(TESSERA_METRICS_ADDRESS\\): the address is already in use`));
      assert.doesNotMatch(metrics.stderr, /^\s+at /m, 'a message, not a stack');
    }
  } finally {
    await new Promise((resolve) => taken.close(resolve));
  }
});
