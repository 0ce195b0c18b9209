/**
 * Helpers for the SECURITY.md tests: a stack signed in once, a gateway of its own, an upstream
 * that records raw headers, a store that counts lookups, a back-channel relay that records what
 * the IdP sends, a signer holding the dev IdP's own key, and small HTTP helpers.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { importJWK, SignJWT, type JWK } from 'jose';
import type { TesseraOptionsInput } from '../../src/config/index.js';
import { startGateway, type Gateway } from '../../src/gateway/server.js';
import type { SessionStore } from '../../src/stores/types.js';
import { createTessera } from '../../src/tessera.js';
import type { Browser, Page } from '../helpers/browser.js';
import { closeServer, listen, startStack, testLogLevel, type Stack, type StackOptions } from '../helpers/stack.js';

export const sha256 = (value: string): string => createHash('sha256').update(value).digest('base64url');

/** The smallest `createTessera` options (development mode, memory store), at the test runner's log level. */
export const minimalOptions = {
  issuer: 'http://localhost:4000',
  clientId: 'c',
  clientSecret: 's',
  development: true,
  store: 'memory:',
  logLevel: testLogLevel(),
};

export interface SignedInStack {
  stack: Stack;
  /** The gateway's port. */
  port: number;
  /** The session id of the one sign-in. */
  id: string;
}

/** `startStack(options)`, then one sign-in (as alice unless `username`). */
export async function startSignedInStack(options: StackOptions = {}, username?: string): Promise<SignedInStack> {
  const stack = await startStack(options);
  try {
    const id = await signIn(stack, stack.browser(), username === undefined ? {} : { username });
    return { stack, port: Number(new URL(stack.url).port), id };
  } catch (err) {
    await stack.close();
    throw err;
  }
}

interface Closable { url: string; close(): Promise<void> }

interface SignedInSetup {
  /** `startStack` options; a function when they depend on what an outer block's hooks set up (its IdP, its upstream). */
  stack?: StackOptions | (() => StackOptions);
  /** Who signs in (alice). */
  username?: string;
}

/**
 * For the enclosing `describe` block: before its tests, the upstream `setup.upstream` starts (when
 * given: the stack forwards to it) and a stack signed in once (`startSignedInStack`); after them,
 * both are closed. The fields are set once the `before` hook has run.
 */
export function useSignedInStack(setup?: SignedInSetup): SignedInStack;
export function useSignedInStack<U extends Closable>(setup: SignedInSetup & { upstream: () => Promise<U> }): SignedInStack & { upstream: U };
export function useSignedInStack(setup: SignedInSetup & { upstream?: () => Promise<Closable> } = {}): SignedInStack & { upstream?: Closable } {
  const fixture = {} as SignedInStack & { upstream?: Closable };
  before(async () => {
    const options = typeof setup.stack === 'function' ? setup.stack() : (setup.stack ?? {});
    if (setup.upstream) fixture.upstream = await setup.upstream();
    const upstream = fixture.upstream ? { upstream: fixture.upstream.url } : {};
    Object.assign(fixture, await startSignedInStack({ ...options, options: { ...options.options, ...upstream } }, setup.username));
  });
  after(async () => {
    await fixture.stack?.close();
    await fixture.upstream?.close();
  });
  return fixture;
}

/**
 * Starts a gateway of its own (memory store, public URL http://localhost:3000) with the stack's
 * IdP, keys and upstream, at the test runner's log level.
 */
export function startGatewayBeside(stack: Stack, options: Partial<TesseraOptionsInput> = {}): Promise<Gateway> {
  const tessera = createTessera({
    publicUrl: 'http://localhost:3000',
    issuer: stack.idp.issuer,
    discoveryUrl: stack.idp.discoveryUrl,
    clientId: 'tessera-dev',
    clientSecret: 'tessera-dev-secret',
    keys: stack.keys,
    store: 'memory:',
    logLevel: testLogLevel(),
    ...options,
  });
  return startGateway(tessera, { upstream: stack.upstream.url, port: 0, host: '127.0.0.1' });
}

export interface Received { method: string; url: string; headers: Array<[string, string]> }

/** An upstream that records every request's headers exactly as they arrived (rawHeaders), and answers `ok`. */
export async function startRecordingUpstream(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const headers: Array<[string, string]> = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
    received.push({ method: req.method ?? '', url: req.url ?? '', headers });
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
  });
  const url = await listen(server, 0);
  return { url, received, close: () => closeServer(server) };
}

/** How a CGI-style server (WSGI, Rack, PHP) names a header: lower-cased, `_` and `-` alike. */
export const cgiName = (name: string): string => name.toLowerCase().replace(/_/g, '-');

/** Raw headers merged as a CGI-style server does: name (see `cgiName`) → every value, in order. */
export function cgiMerge(headers: Array<[string, string]>): Map<string, string[]> {
  const merged = new Map<string, string[]>();
  for (const [name, value] of headers) merged.set(cgiName(name), [...(merged.get(cgiName(name)) ?? []), value]);
  return merged;
}

export const atCallback = (url: URL): boolean => url.pathname === '/auth/callback';

/** A store whose `get` calls are counted (the stores are plain objects of closures). */
export function countingStore(inner: SessionStore): SessionStore & { gets: number } {
  const counted: SessionStore & { gets: number } = {
    ...inner,
    gets: 0,
    get(key) {
      counted.gets += 1;
      return inner.get(key);
    },
  };
  return counted;
}

/** `GET /auth/session` with exactly this `Cookie` header (or none); returns the status. */
export async function sessionStatus(stack: Stack, cookie: string | undefined, init: { headers?: Record<string, string>; query?: string } = {}): Promise<number> {
  const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
  if (cookie !== undefined) headers.cookie = cookie;
  const response = await fetch(`${stack.url}/auth/session${init.query ?? ''}`, { headers });
  await response.body?.cancel();
  return response.status;
}

/** Signs in through the gateway; returns the session id the browser got. */
export async function signIn(stack: Stack, browser: Browser, options: Parameters<Stack['login']>[1] = {}): Promise<string> {
  const page = await stack.login(browser, options);
  if (page.status !== 200) throw new Error(`sign-in ended with ${page.status} at ${page.url}`);
  const id = stack.sessionCookie(browser);
  if (id === undefined) throw new Error('no session cookie after sign-in');
  return id;
}

/** Starts a login and stops before the callback: the callback URL the IdP sent the browser to. */
export async function loginUntilCallback(stack: Stack, browser: Browser, username = 'alice', returnTo = '/'): Promise<URL> {
  const page = await browser.signIn(`${stack.url}/auth/login?returnTo=${encodeURIComponent(returnTo)}`, { username, password: username, stopAt: atCallback });
  if (!page.stopped) throw new Error(`login did not reach the callback (${page.status} ${page.url})`);
  return new URL(page.url);
}

/** The `X-Tessera-Session` reference the upstream saw on the landing page of a sign-in. */
export function upstreamRef(page: Page): string {
  const seen = JSON.parse(page.text) as { headers: IncomingHttpHeaders };
  return String(seen.headers['x-tessera-session']);
}

/**
 * A relay for back-channel logout: the dev IdP posts to it, it records the body and forwards it
 * to `target` (set once the gateway's URL is known).
 */
export async function startBackchannelRelay(): Promise<{ url: string; target: string; tokens: string[]; statuses: number[]; close(): Promise<void> }> {
  const relay = { url: '', target: '', tokens: [] as string[], statuses: [] as number[], close: async () => {} };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const token = new URLSearchParams(body).get('logout_token');
      if (token) relay.tokens.push(token);
      fetch(relay.target, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body })
        .then(async (response) => {
          relay.statuses.push(response.status);
          res.writeHead(response.status, { 'content-type': 'application/json' }).end(await response.text());
        })
        .catch(() => res.writeHead(502).end());
    });
  });
  relay.url = `${await listen(server, 0)}/auth/backchannel-logout`;
  relay.close = () => closeServer(server);
  return relay;
}

/** Signs JWTs with the dev IdP's own signing key (read from its data folder). */
export async function idpSigner(idpDataDir: string): Promise<(payload: Record<string, unknown>, header?: Record<string, unknown>) => Promise<string>> {
  const keys = JSON.parse(readFileSync(join(idpDataDir, 'dev-idp', 'keys.json'), 'utf8')) as { signing: JWK[] };
  const jwk = keys.signing[0]!;
  const key = await importJWK(jwk, 'RS256');
  return (payload, header = {}) => new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: jwk.kid, ...header } as { alg: string }).sign(key);
}

/**
 * Sends raw bytes to a server and collects everything it answers until it closes (or `ms` pass),
 * from `localAddress` when given (all of 127.0.0.0/8 is loopback on Linux).
 */
export function rawExchange(port: number, data: string | Buffer, ms = 3000, localAddress?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    let answer = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(done, ms);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? done() : reject(err)));
    socket.write(data);
  });
}

/** The status code of a raw HTTP/1.1 answer (0 when there is none). */
export const rawStatus = (answer: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true or `ms` pass. */
export async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await sleep(50);
  }
  return check();
}
