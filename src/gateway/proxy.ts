import type { IncomingMessage, ServerResponse } from 'node:http';
import { Pool } from 'undici';
import { logger } from '../lib/log.js';

/** Hop-by-hop headers (RFC 9110 §7.6.1) never cross the proxy. */
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

export interface IdentityHeaders {
  sub: string;
  roles: string[];
  tid: string | undefined;
  ref: string;
  accessToken?: string | undefined;
}

/**
 * Forwards a request to the one configured upstream over a keep-alive pool, bodies streamed both
 * ways. Client-sent `X-Tessera-*` headers are dropped and the identity headers set; Tessera's own
 * cookies are removed from the upstream `Cookie` header.
 */
export class UpstreamProxy {
  #pool: Pool;
  #origin: string;

  constructor(upstream: string, connections = 128) {
    this.#origin = new URL(upstream).origin;
    this.#pool = new Pool(this.#origin, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
  }

  forward(req: IncomingMessage, res: ServerResponse, identity: IdentityHeaders, isTesseraCookie: (name: string) => boolean): Promise<void> {
    const headers: Record<string, string | string[]> = {};
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      if (hopByHop.has(name) || name.startsWith('x-tessera-') || (name === 'authorization' && identity.accessToken)) continue;
      const value = raw[i + 1]!;
      if (name === 'cookie') {
        const kept = stripCookies(value, isTesseraCookie);
        if (kept) headers.cookie = headers.cookie ? `${headers.cookie as string}; ${kept}` : kept;
        continue;
      }
      const existing = headers[name];
      headers[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
    }
    headers['x-tessera-sub'] = identity.sub;
    headers['x-tessera-roles'] = identity.roles.join(',');
    if (identity.tid !== undefined) headers['x-tessera-tid'] = identity.tid;
    headers['x-tessera-session'] = identity.ref;
    if (identity.accessToken) headers.authorization = `Bearer ${identity.accessToken}`;
    const remote = req.socket.remoteAddress;
    if (remote) {
      const prior = req.headers['x-forwarded-for'];
      headers['x-forwarded-for'] = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${remote}` : remote;
    }
    if (req.headers.host) headers['x-forwarded-host'] = req.headers.host;

    const method = req.method ?? 'GET';
    const hasBody = method !== 'GET' && method !== 'HEAD';
    return new Promise<void>((resolve) => {
      this.#pool.stream(
        { path: req.url ?? '/', method, headers, body: hasBody ? req : null },
        ({ statusCode, headers: upstreamHeaders }) => {
          const out: Record<string, string | string[]> = {};
          for (const [name, value] of Object.entries(upstreamHeaders)) {
            if (value !== undefined && !hopByHop.has(name)) out[name] = value;
          }
          res.writeHead(statusCode, out);
          return res;
        },
        (err) => {
          if (err) {
            logger.warn('upstream request failed', { error: err.message });
            if (!res.headersSent) {
              res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end('The application behind the gateway did not answer.\n');
            } else {
              res.destroy(err);
            }
          }
          resolve();
        },
      );
    });
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

function stripCookies(header: string, drop: (name: string) => boolean): string {
  let out = '';
  for (const part of header.split(';')) {
    const trimmed = part.trim();
    if (!trimmed) continue;
    const eq = trimmed.indexOf('=');
    if (drop(eq === -1 ? trimmed : trimmed.slice(0, eq))) continue;
    out = out ? `${out}; ${trimmed}` : trimmed;
  }
  return out;
}
