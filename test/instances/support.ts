/**
 * `tessera serve` as a real child process (the CLI from source), for tests about several
 * instances and outages: what matters there is the process, its store connection and its cache.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { startDevIdp, type DevIdp, type DevIdpOptions } from '../../src/dev-idp/index.js';
import { generateKeyEntry } from '../../src/keys/index.js';
import { freePort, sleep } from '../helpers/redis-server.js';
import { startEchoUpstream } from '../helpers/stack.js';

const entry = fileURLToPath(new URL('../helpers/cli-entry.ts', import.meta.url));

export interface GatewayProcess {
  /** The public URL, `http://localhost:<port>`. */
  url: string;
  child: ChildProcess;
  /** Everything the process wrote (stdout and stderr), for diagnostics and log assertions. */
  output(): string;
  alive(): boolean;
  /** SIGTERM, then SIGKILL when it has not exited within 5 s. */
  stop(): Promise<void>;
}

/**
 * Starts `tessera serve` with `env` (plus TESSERA_PORT, and TESSERA_PUBLIC_URL = its own
 * `http://localhost:<port>` unless `publicUrl` is given) and waits for `/healthz`.
 */
export async function startGatewayProcess(env: Record<string, string>, publicUrl?: string): Promise<GatewayProcess> {
  // Another process may take the free port before the gateway binds it: then again on a new one.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startGatewayProcessOnce(env, publicUrl);
    } catch (err) {
      if (attempt === 3 || !/already in use|EADDRINUSE/.test(String(err))) throw err;
    }
  }
}

async function startGatewayProcessOnce(env: Record<string, string>, publicUrl: string | undefined): Promise<GatewayProcess> {
  const port = await freePort();
  const url = `http://localhost:${port}`;
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TESSERA_')));
  const child = spawn(process.execPath, ['--import', 'tsx', entry, 'serve'], {
    env: { ...clean, TESSERA_LOG_LEVEL: 'warn', ...env, TESSERA_PORT: String(port), TESSERA_HOST: '127.0.0.1', TESSERA_PUBLIC_URL: publicUrl ?? url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const gateway: GatewayProcess = {
    url,
    child,
    output: () => output,
    alive,
    async stop() {
      if (!alive()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!alive()) throw new Error(`tessera serve exited with ${child.exitCode ?? child.signalCode}:\n${output}`);
    if (await healthy(url)) return gateway;
    if (Date.now() > deadline) {
      await gateway.stop();
      throw new Error(`tessera serve did not answer /healthz within 30 s:\n${output}`);
    }
    await sleep(100);
  }
}

/** What a gateway process runs against: the identity provider, the upstream and its data folder. */
export interface GatewaySurroundings {
  idp: Pick<DevIdp, 'issuer' | 'discoveryUrl'>;
  upstream: { url: string };
  dataDir: string;
}

/**
 * The env for {@link startGatewayProcess} against the dev IdP (client `tessera-dev`), with a new
 * key ring (`TESSERA_KEYS`) on every call, sessions in `store`, in front of `upstream`, with
 * `dataDir` as TESSERA_DATA_DIR; `extra` adds settings or overrides these.
 */
export function gatewayEnvFor(around: GatewaySurroundings, store: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    TESSERA_ISSUER: around.idp.issuer,
    TESSERA_DISCOVERY_URL: around.idp.discoveryUrl,
    TESSERA_CLIENT_ID: 'tessera-dev',
    TESSERA_CLIENT_SECRET: 'tessera-dev-secret',
    TESSERA_KEYS: generateKeyEntry(),
    TESSERA_STORE: store,
    TESSERA_UPSTREAM: around.upstream.url,
    TESSERA_DATA_DIR: around.dataDir,
    ...extra,
  };
}

export interface GatewayWorld extends GatewaySurroundings {
  idp: DevIdp;
  upstream: Awaited<ReturnType<typeof startEchoUpstream>>;
  /** Closes the upstream, then the IdP, then removes the data folder. */
  close(): Promise<void>;
}

/**
 * A new data folder (`<tmpdir>/<prefix>XXXXXX`), the dev IdP keeping its state there (on a free
 * port, quiet, plus `idpOptions`) and an echo upstream: what a test's gateway processes run against.
 * When one of them fails to start, what did start is closed again before the error is thrown.
 */
export async function startGatewayWorld(prefix: string, idpOptions: DevIdpOptions = {}): Promise<GatewayWorld> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  let idp: DevIdp | undefined;
  try {
    idp = await startDevIdp({ port: 0, dataDir, quiet: true, ...idpOptions });
    const upstream = await startEchoUpstream();
    const started = idp;
    return {
      dataDir,
      idp,
      upstream,
      async close() {
        await upstream.close();
        await started.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await idp?.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

export interface LoadBalancer {
  /** `http://localhost:<port>`. */
  url: string;
  /** Where to send requests, in turn. Set once the backends are up. */
  targets: string[];
  /** Each request's path and the index of the target that served it. */
  log: Array<{ path: string; target: number }>;
  close(): Promise<void>;
}

/** A round-robin HTTP load balancer without stickiness: every request goes to the next target. */
export async function startLoadBalancer(): Promise<LoadBalancer> {
  let next = 0;
  const balancer: LoadBalancer = { url: '', targets: [], log: [], close: async () => undefined };
  const server = createServer((req, res) => {
    const index = next++ % balancer.targets.length;
    balancer.log.push({ path: req.url ?? '/', target: index });
    const upstream = httpRequest(`${balancer.targets[index]}${req.url ?? '/'}`, { method: req.method, headers: req.headers, agent: false }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
      answer.pipe(res);
    });
    upstream.on('error', () => res.headersSent ? res.destroy() : res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  balancer.url = `http://localhost:${typeof address === 'object' && address !== null ? address.port : 0}`;
  balancer.close = () => new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  return balancer;
}

async function healthy(url: string): Promise<boolean> {
  try {
    const response = await request(`${url}/healthz`, { headersTimeout: 1000, bodyTimeout: 1000 });
    await response.body.text();
    return response.statusCode === 200;
  } catch {
    return false;
  }
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * One request with an explicit `Cookie` header (not a browser's jar): what a client still holding
 * an old cookie sends. `kind` picks a page navigation or an API call.
 */
export async function requestWith(url: string, cookie: string | undefined, kind: 'page' | 'api' = 'page', init: { method?: 'GET' | 'POST' | 'DELETE'; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = kind === 'api'
    ? { accept: 'application/json' }
    : { accept: 'text/html,application/xhtml+xml', 'sec-fetch-mode': 'navigate' };
  if (cookie !== undefined) headers.cookie = cookie;
  const response = await request(url, { method: init.method ?? 'GET', headers: { ...headers, ...init.headers } });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

/** Calls `attempt` every 100 ms until it returns a value, for at most `withinMs`. */
export async function poll<T>(what: string, withinMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${withinMs} ms`);
    await sleep(100);
  }
}
