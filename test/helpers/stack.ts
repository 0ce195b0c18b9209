import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevIdp, type DevIdp } from '../../src/dev-idp/index.js';
import { attachGateway, createGatewayHandler } from '../../src/gateway/server.js';
import { generateKeyEntry } from '../../src/keys/index.js';
import { createTessera, type Tessera } from '../../src/tessera.js';
import type { TesseraOptionsInput } from '../../src/config/index.js';
import type { Logger } from '../../src/observability/log.js';
import type { SessionStore } from '../../src/stores/types.js';
import { Browser } from './browser.js';

export interface UpstreamRequest { method: string; url: string; headers: IncomingHttpHeaders; body: string }

/** An upstream that records what reaches it and answers with it as JSON. */
export async function startEchoUpstream(): Promise<{ url: string; requests: UpstreamRequest[]; close(): Promise<void> }> {
  const requests: UpstreamRequest[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const record = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      requests.push(record);
      res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'app=1; Path=/' }).end(JSON.stringify(record));
    });
  });
  const url = await listen(server, 0);
  return { url, requests, close: () => closeServer(server) };
}

export interface Stack {
  idp: DevIdp;
  tessera: Tessera;
  /** The gateway's public URL (http://localhost:<port>). */
  url: string;
  upstream: { url: string; requests: UpstreamRequest[] };
  keys: string;
  dataDir: string;
  browser(): Browser;
  /** Signs in through the gateway; returns the page the browser ends on. */
  login(browser: Browser, options?: { username?: string; password?: string; returnTo?: string; otp?: string; acr?: string }): Promise<Awaited<ReturnType<Browser['signIn']>>>;
  sessionCookie(browser: Browser): string | undefined;
  /** Restarts the gateway (same port, keys and store), as after a process restart. */
  restart(overrides?: Partial<TesseraOptionsInput>): Promise<void>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Tessera options on top of the test defaults (SQLite in a temp folder). */
  options?: Partial<TesseraOptionsInput>;
  store?: SessionStore;
  /** The gateway's logger (without one, JSON lines on stderr at TESSERA_LOG_LEVEL, as the test runner sets it). */
  logger?: Logger;
  accessTokenTtl?: number;
  /** Share a dev IdP between stacks (it is then not closed with the stack). */
  idp?: DevIdp;
}

/** Dev IdP + echo upstream + gateway on free ports, with SQLite in a temp folder. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-stack-'));
  const ownIdp = options.idp === undefined;
  const idp = options.idp ?? (await startDevIdp({ port: 0, dataDir, quiet: true, accessTokenTtl: options.accessTokenTtl }));
  const upstream = await startEchoUpstream();
  const keys = generateKeyEntry();
  const server = createServer({ maxHeaderSize: 16 * 1024 });
  const port = Number(new URL(await listen(server, 0)).port);
  const url = `http://localhost:${port}`;
  let current: { tessera: Tessera; close(): Promise<void> };

  const build = (overrides: Partial<TesseraOptionsInput> = {}) => {
    const tessera = createTessera({
      publicUrl: url,
      issuer: idp.issuer,
      discoveryUrl: idp.discoveryUrl,
      clientId: 'tessera-dev',
      clientSecret: 'tessera-dev-secret',
      keys,
      store: `sqlite:${join(dataDir, 'sessions.db')}`,
      upstream: upstream.url,
      dataDir,
      logLevel: testLogLevel(),
      ...options.options,
      ...overrides,
    }, { ...(options.store ? { store: options.store } : {}), ...(options.logger ? { logger: options.logger } : {}) });
    const gateway = createGatewayHandler(tessera, overrides.upstream ?? options.options?.upstream ?? upstream.url);
    server.removeAllListeners('request');
    server.removeAllListeners('checkContinue');
    server.removeAllListeners('upgrade');
    attachGateway(server, gateway);
    return { tessera, close: async () => { await gateway.close(); if (!options.store) await tessera.close(); } };
  };
  current = build();

  const stack: Stack = {
    idp,
    get tessera() { return current.tessera; },
    url,
    upstream,
    keys,
    dataDir,
    browser: () => new Browser(),
    async login(browser, o = {}) {
      const query = new URLSearchParams({ returnTo: o.returnTo ?? '/' });
      if (o.acr) query.set('acr', o.acr);
      return browser.signIn(`${url}/auth/login?${query}`, { username: o.username ?? 'alice', password: o.password ?? o.username ?? 'alice', otp: o.otp });
    },
    sessionCookie: (browser) => browser.jar.get(current.tessera.cookieName, url),
    async restart(overrides) {
      await current.close();
      current = build(overrides);
    },
    async close() {
      await current.close();
      server.closeAllConnections();
      await closeServer(server);
      await upstream.close();
      if (ownIdp) await idp.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return stack;
}

/** The level the test runner asks for (`TESSERA_LOG_LEVEL`, silent by default), for the Tessera instances tests build. */
export function testLogLevel(): TesseraOptionsInput['logLevel'] {
  const level = process.env.TESSERA_LOG_LEVEL;
  return level === 'debug' || level === 'info' || level === 'warn' || level === 'error' || level === 'silent' ? level : 'info';
}

export function listen(server: Server, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      resolve(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`);
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
