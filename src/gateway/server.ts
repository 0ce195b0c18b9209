import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isTesseraError } from '../errors.js';
import { logger } from '../lib/log.js';
import { denyAnonymous, unavailable } from '../http/node.js';
import { toRequest, writeResponse } from '../http/node-bridge.js';
import type { Tessera } from '../tessera.js';
import { UpstreamProxy } from './proxy.js';

export interface Gateway {
  server: Server;
  url: string;
  close(): Promise<void>;
}

const maxBodyBytes = 10 * 1024 * 1024;

/**
 * The gateway (`tessera serve`): `/auth/*` through the core, health and metrics, and every
 * other request — when authenticated — proxied to the upstream with identity headers.
 */
export function createGatewayHandler(tessera: Tessera, upstream: string) {
  const proxy = new UpstreamProxy(upstream, 128, maxBodyBytes);
  const cookieName = tessera.sessions.cookieName;
  const isTesseraCookie = (name: string) => name === cookieName || name.startsWith('tessera-txn-') || name.startsWith('__Host-tessera');
  const relay = tessera.config.tokenRelay;

  async function handler(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    // Only origin-form targets: an absolute-form (`GET http://other.example/ HTTP/1.1`) or `*`
    // target is never passed on, so nothing the client writes can name another host upstream.
    if (url.charCodeAt(0) !== 47 /* "/" */) {
      return void res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', connection: 'close' }).end('Bad request target.\n');
    }
    try {
      if (url.startsWith('/auth/')) {
        const response = await tessera.handle(toRequest(req, tessera.config.publicUrl));
        if (response) return await writeResponse(res, response);
      }
      if (url === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      if (url === '/readyz') {
        const status = await tessera.ready();
        return void res.writeHead(status.ready ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(status));
      }
      if (url === '/metrics') return void res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(tessera.metrics());

      const { cookie, contentLength } = readRequestHeaders(req.rawHeaders);
      if (Number(contentLength ?? 0) > maxBodyBytes) {
        return void res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' }).end('Request body too large.\n');
      }
      const result = await tessera.authenticate(cookie);
      if (!result.authenticated) return denyAnonymous(req, res, tessera.loginUrl(url, result.renew), result.clearCookie);
      const session = result.session;
      const accessToken = relay ? (await tessera.tokens(result.storeKey))?.access_token : undefined;
      await proxy.forward(req, res, { sub: session.sub, roles: session.roles, tid: session.tid, ref: session.ref, accessToken }, isTesseraCookie);
    } catch (err) {
      if (isTesseraError(err) && err.status === 503) return unavailable(req, res);
      logger.error('gateway request failed', { error: err instanceof Error ? err.stack : String(err) });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('Internal error.\n');
      else res.destroy();
    }
  }
  return { handler, close: () => proxy.close() };
}

/**
 * The two request headers the hot path needs, from `rawHeaders` in one pass: building `req.headers`
 * costs more than the whole session check. Several Cookie headers are joined with "; " and the
 * first Content-Length is used, as node does for `req.headers`.
 */
export function readRequestHeaders(raw: string[]): { cookie: string | undefined; contentLength: string | undefined } {
  let cookie: string | undefined;
  let contentLength: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 6 && name.toLowerCase() === 'cookie') {
      cookie = cookie === undefined ? raw[i + 1]! : `${cookie}; ${raw[i + 1]!}`;
    } else if (name.length === 14 && contentLength === undefined && name.toLowerCase() === 'content-length') {
      contentLength = raw[i + 1]!;
    }
  }
  return { cookie, contentLength };
}

export async function startGateway(tessera: Tessera, options: { upstream: string; port: number; host: string }): Promise<Gateway> {
  const { handler, close } = createGatewayHandler(tessera, options.upstream);
  const server = createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 30_000 }, (req, res) => void handler(req, res));
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    server,
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await close();
      await tessera.close();
    },
  };
}
