import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { nodeFacts, sendDenial, writeResponse } from '../adapters/node-bridge.js';
import { storeUnavailable } from '../app/denials.js';
import { noSession } from '../app/decision.js';
import { newRequestId } from '../app/pages.js';
import { isApiRequest } from '../app/request-kind.js';
import { isAuthPath } from '../app/router.js';
import { normalisePath } from '../lib/path.js';
import { inClientTrace } from '../observability/tracing.js';
import { isTesseraError } from '../errors.js';
import { readCookie } from '../lib/cookies.js';
import type { RouteRule } from '../config/routes.js';
import type { Session } from '../session/manager.js';
import { internalsOf, type Tessera } from '../tessera.js';
import { ClientLimit } from './client-limit.js';
import { ForwardingPolicy } from './forwarding.js';
import { UpstreamProxy, type SessionEndHook } from './proxy.js';
import { drain } from './shutdown.js';
import { createUpgradeHandler } from './upgrade.js';
import type { Duplex } from 'node:stream';

export interface Gateway {
  server: Server;
  url: string;
  /** The metrics listener (`TESSERA_METRICS_ADDRESS`), when there is one. */
  metricsUrl: string | undefined;
  /**
   * Runs `hook` when the gateway starts closing (the listener no longer accepts; requests in flight
   * still finish): the place for open long-lived connections (WebSockets: a `1001` close frame).
   */
  onShutdown(hook: () => void | Promise<void>): void;
  /** Graceful: see `drain`; in-flight requests get `TESSERA_SHUTDOWN_TIMEOUT`. */
  close(): Promise<void>;
}

export interface GatewayHandler {
  /** The `request` listener. */
  handler(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** The `checkContinue` listener: `100 Continue` only once the request may go on. */
  checkContinue(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** The `upgrade` listener: WebSocket handshakes, decided as requests, then relayed. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void>;
  /** Closes every upgraded connection (`1001 going away`): a server waits for them before it closes. */
  closeUpgrades(): void;
  close(): Promise<void>;
}

const maxBodyBytes = 10 * 1024 * 1024;
const plain = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };

/**
 * The gateway (`tessera serve`): `/auth/*` through the core, health, and every other request as
 * the route rules decide — proxied to the rule's upstream under its canonical path, with identity
 * headers when there is a session. Metrics are not here: they
 * are served on their own listener (`startMetricsServer`).
 */
export function createGatewayHandler(tessera: Tessera, upstream: string): GatewayHandler {
  const { config, logger, metrics, sessions, ends, silentSso } = internalsOf(tessera);
  const cookieName = tessera.cookieName;
  const newProxy = (origin: string) => new UpstreamProxy({
    logger,
    upstream: origin,
    maxBodyBytes,
    sendTimeoutMs: config.sendTimeoutMs,
    allowUnderscoreHeaders: config.allowUnderscoreHeaders,
    publicUrl: config.publicUrl,
    isTesseraCookie: (name) => isTesseraCookieName(name, cookieName, config.cookieName),
  });
  // One keep-alive pool per upstream: the default one and each route rule's own.
  const defaultProxy = newProxy(upstream);
  const proxies = new Map<string, UpstreamProxy>();
  for (const rule of config.routes) {
    if (rule.upstream !== undefined && !proxies.has(rule.upstream)) proxies.set(rule.upstream, newProxy(rule.upstream));
  }
  /** The pool of the rule's upstream. */
  const proxyOf = (rule: RouteRule): UpstreamProxy => (rule.upstream === undefined ? defaultProxy : proxies.get(rule.upstream)!);
  const forwarding = new ForwardingPolicy(config.trustedProxies);
  const limit = new ClientLimit(config.maxRequestsPerClient);
  const relay = config.tokenRelay;
  const upgrades = createUpgradeHandler({
    tessera,
    proxyFor: proxyOf,
    upstreamFor: (rule) => rule.upstream ?? upstream,
    forwarding,
    limit,
    readHeaders: readRequestHeaders,
    sessionIdIn: (cookie) => sessionIdIn(cookie, cookieName),
  });
  /**
   * A streaming response (Server-Sent Events, a long poll) ends with its session. One not yet
   * answered gets what the decision would now give the request: a page goes to login, an API call
   * gets 401.
   */
  const sessionEndOf = (session: Session, target: string, req: IncomingMessage): SessionEndHook | undefined => {
    const key = sessions.storeKeyOf(session);
    if (key === undefined) return undefined;
    return {
      watch: (end) => ends.watch(key, session, ({ reason }) => {
        metrics.closedBySessionEnd('http', reason);
        end();
      }),
      answer: () => noSession(isApiRequest(nodeFacts(req, config.publicUrl).header), target, sessions.clearCookieHeader, silentSso),
    };
  };

  async function handle(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): Promise<void> {
    const url = req.url ?? '/';
    // Only origin-form targets: an absolute-form (`GET http://other.example/ HTTP/1.1`) or `*`
    // target is never passed on, so nothing the client writes can name another host upstream.
    if (url.charCodeAt(0) !== 47 /* "/" */) {
      return void res.writeHead(400, { ...plain, connection: 'close' }).end('Bad request target.\n');
    }
    try {
      if (url === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      if (url === '/readyz') return await readiness(tessera, res);
      if (url === '/metrics' || url.startsWith('/metrics?')) {
        return void res.writeHead(404, plain).end('Not found. Metrics are served on TESSERA_METRICS_ADDRESS.\n');
      }

      const { cookie, contentLength, forwardedFor } = readRequestHeaders(req.rawHeaders);
      const bigBody = Number(contentLength ?? 0) > maxBodyBytes;
      // Only a large body or an Expect needs to know now whether this is `/auth/*` (decided on the canonical path).
      const auth = (bigBody || expectsContinue) && isCanonicalAuthPath(url);
      // `/auth/*` reads at most 64 KB of a body itself; everything else is refused before the session check.
      if (!auth && bigBody) {
        return void res.writeHead(413, { ...plain, connection: 'close' }).end('Request body too large.\n');
      }
      if (auth && expectsContinue) res.writeContinue();
      // The client the forwarding policy names: session binding's ip-prefix signal and the per-client cap.
      const peer = forwarding.peer(req.socket.remoteAddress, forwardedFor);
      const decision = await tessera.decide(nodeFacts(req, config.publicUrl, cookie, () => peer.client), { canonical: 'forward' });
      if (decision.kind === 'respond') return await writeResponse(res, decision.response);
      if (decision.kind === 'deny') return sendDenial(res, decision.denial);
      const session = decision.session;
      const proxy = proxyOf(decision.rule);
      if (!limit.acquire(peer.client)) {
        logger.warn({ client: peer.client, limit: limit.max }, 'per-client request limit reached');
        return void res.writeHead(429, { ...plain, 'retry-after': '1', connection: 'close' })
          .end(`Too many requests in flight from this client (at most ${limit.max}). Try again in a moment.\n`);
      }
      try {
        const accessToken = relay && session ? (await tessera.tokens(session))?.access_token : undefined;
        if (expectsContinue) res.writeContinue();
        await proxy.forward(req, res, {
          identity: session && {
            sub: session.sub, roles: session.roles, tid: session.tid, ref: session.ref, acr: session.acr, amr: session.amr, accessToken,
          },
          peer,
          forwardedFor,
          sessionId: sessionIdIn(cookie, cookieName),
          target: decision.target,
          setCookie: decision.clearCookie,
          sessionEnd: session && sessionEndOf(session, decision.target, req),
        });
      } finally {
        limit.release(peer.client);
      }
    } catch (err) {
      // Only token relay reads the store after the decision; an outage there is a 503 as well.
      if (isTesseraError(err) && err.transient) {
        const requestId = newRequestId();
        logger.warn({ requestId, status: 503, code: err.code }, 'session store unavailable');
        return sendDenial(res, storeUnavailable(isApiRequest(nodeFacts(req, config.publicUrl).header), requestId));
      }
      logger.error({ error: err instanceof Error ? err.stack : String(err) }, 'gateway request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('Internal error.\n');
      else res.destroy();
    }
  }
  /** Runs `fn` in the client's trace (`traceparent`) when `TESSERA_TRACE_CONTEXT` trusts this peer with it. */
  const traced = <T>(req: IncomingMessage, fn: () => T): T => {
    const trusted = config.traceContext === 'always'
      || (config.traceContext === 'trusted' && forwarding.peer(req.socket.remoteAddress, undefined).trusted);
    return trusted ? inClientTrace(req.rawHeaders, fn) : fn();
  };
  return {
    handler: (req, res) => traced(req, () => handle(req, res, false)),
    checkContinue: (req, res) => traced(req, () => handle(req, res, true)),
    upgrade: (req, socket, head) => traced(req, () => upgrades.handle(req, socket, head)),
    closeUpgrades: () => upgrades.close(),
    close: async () => {
      upgrades.close();
      await Promise.all([defaultProxy.close(), ...[...proxies.values()].map((p) => p.close())]);
    },
  };
}

/** Tessera's cookies, however a client cases or encodes the name: none of them is the upstream's business. */
function isTesseraCookieName(name: string, sessionCookie: string, baseName: string): boolean {
  let n = name;
  if (n.includes('%')) {
    try {
      n = decodeURIComponent(n);
    } catch {
      // not percent-encoding: compared as written
    }
  }
  // Every whitespace some parser trims (NBSP included), and any case.
  n = n.trim().toLowerCase();
  // Its own names (TESSERA_COOKIE_NAME), and the default ones as before.
  const base = baseName.toLowerCase();
  return n === sessionCookie.toLowerCase() || n.startsWith(`${base}-txn-`) || n.startsWith(`__host-${base}`)
    || n === 'tessera' || n.startsWith('tessera-txn-') || n.startsWith('__host-tessera');
}

function isCanonicalAuthPath(url: string): boolean {
  const canonical = normalisePath(url);
  return canonical.ok && isAuthPath(canonical.path);
}

/** The session cookie's value, when the request carries one. */
function sessionIdIn(cookie: string | undefined, cookieName: string): string | undefined {
  const found = readCookie(cookie, cookieName);
  return found.found && found.value.length > 0 ? found.value : undefined;
}

async function readiness(tessera: Tessera, res: ServerResponse): Promise<void> {
  const status = await tessera.ready();
  res.writeHead(status.ready ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(status));
}

/**
 * The headers the hot path needs, from `rawHeaders` in one pass: building `req.headers` costs
 * more than the whole session check. Several Cookie (or X-Forwarded-For) headers are joined with
 * "; " (", "), and the first Content-Length is used, as node does for `req.headers`.
 */
export function readRequestHeaders(raw: string[]): { cookie: string | undefined; contentLength: string | undefined; forwardedFor: string | undefined } {
  let cookie: string | undefined;
  let contentLength: string | undefined;
  let forwardedFor: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 6 && name.toLowerCase() === 'cookie') {
      cookie = cookie === undefined ? raw[i + 1]! : `${cookie}; ${raw[i + 1]!}`;
    } else if (name.length === 14 && contentLength === undefined && name.toLowerCase() === 'content-length') {
      contentLength = raw[i + 1]!;
    } else if (name.length === 15 && name.toLowerCase() === 'x-forwarded-for') {
      forwardedFor = forwardedFor === undefined ? raw[i + 1]! : `${forwardedFor}, ${raw[i + 1]!}`;
    }
  }
  return { cookie, contentLength, forwardedFor };
}

/** Wires a gateway handler to a server: requests, and `Expect: 100-continue` requests. */
export function attachGateway(server: Server, gateway: GatewayHandler): void {
  server.on('request', (req, res) => void gateway.handler(req, res));
  server.on('checkContinue', (req, res) => void gateway.checkContinue(req, res));
  server.on('upgrade', (req, socket, head) => void gateway.upgrade(req, socket, head));
}

/** `/metrics`, `/healthz` and `/readyz` on their own listener, away from the public port. */
export function createMetricsHandler(tessera: Tessera) {
  const { logger } = internalsOf(tessera);
  return async function metricsHandler(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { ...plain, allow: 'GET, HEAD' }).end('Use GET.\n');
      if (path === '/metrics') {
        const text = await tessera.metrics.render();
        return void res.writeHead(200, { 'content-type': tessera.metrics.contentType, 'cache-control': 'no-store' }).end(text);
      }
      if (path === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      if (path === '/readyz') return await readiness(tessera, res);
      res.writeHead(404, plain).end('Not found: /metrics, /healthz and /readyz are served here.\n');
    } catch (err) {
      logger.error({ error: String(err) }, 'metrics request failed');
      if (!res.headersSent) res.writeHead(500, plain).end('Internal error.\n');
    }
  };
}

export async function startGateway(tessera: Tessera, options: { upstream: string; port: number; host: string; /** false in a worker: the primary serves the metrics. */ metrics?: boolean }): Promise<Gateway> {
  const gateway = createGatewayHandler(tessera, options.upstream);
  const server = createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 30_000 });
  attachGateway(server, gateway);
  server.keepAliveTimeout = 65_000;
  const url = await listenOn(server, options.port, options.host);
  let metrics: Server | undefined;
  let metricsUrl: string | undefined;
  const { metricsAddress, shutdownTimeoutMs } = internalsOf(tessera).config;
  const address = options.metrics === false ? undefined : metricsAddress;
  const shutdownHooks: Array<() => void | Promise<void>> = [];
  if (address !== undefined) {
    const handler = createMetricsHandler(tessera);
    metrics = createServer({ maxHeaderSize: 8 * 1024, requestTimeout: 10_000 }, (req, res) => void handler(req, res));
    try {
      metricsUrl = await listenOn(metrics, address.port, address.host);
    } catch (err) {
      await closeListener(server);
      throw err;
    }
  }
  return {
    server,
    url,
    metricsUrl,
    onShutdown: (hook) => void shutdownHooks.push(hook),
    async close() {
      const drained = Promise.all([drain(server, shutdownTimeoutMs), metrics ? drain(metrics, shutdownTimeoutMs) : undefined]);
      gateway.closeUpgrades(); // WebSockets: 1001 going away
      await Promise.allSettled(shutdownHooks.map(async (hook) => hook()));
      await drained;
      await gateway.close();
      await tessera.close();
    },
  };
}

async function listenOn(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
}

function closeListener(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
