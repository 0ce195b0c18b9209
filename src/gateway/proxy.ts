import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
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

  #maxBodyBytes: number;

  /** `maxBodyBytes` caps bodies without a Content-Length (chunked); declared lengths are checked before. */
  constructor(upstream: string, connections = 128, maxBodyBytes = Infinity) {
    this.#origin = new URL(upstream).origin;
    this.#maxBodyBytes = maxBodyBytes;
    this.#pool = new Pool(this.#origin, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
  }

  forward(req: IncomingMessage, res: ServerResponse, identity: IdentityHeaders, isTesseraCookie: (name: string) => boolean): Promise<void> {
    // A flat name/value list: what undici takes with the least work, and duplicates stay as sent.
    const headers: string[] = [];
    let cookie = '';
    let forwardedFor = '';
    let host: string | undefined;
    let clientForwardedHost: string | undefined;
    let contentLength: string | undefined;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      const value = raw[i + 1]!;
      if (name === 'host') host ??= value;
      if (hopByHop.has(name) || name.startsWith('x-tessera-') || (name === 'authorization' && identity.accessToken)) continue;
      if (name === 'cookie') {
        const kept = stripCookies(value, isTesseraCookie);
        if (kept) cookie = cookie ? `${cookie}; ${kept}` : kept;
        continue;
      }
      if (name === 'x-forwarded-for') {
        forwardedFor = forwardedFor ? `${forwardedFor}, ${value}` : value;
        continue;
      }
      if (name === 'x-forwarded-host') {
        // Replaced by the Host the client used, whenever it sent one.
        clientForwardedHost = clientForwardedHost === undefined ? value : `${clientForwardedHost}, ${value}`;
        continue;
      }
      if (name === 'content-length') contentLength = value;
      headers.push(name, value);
    }
    if (cookie) headers.push('cookie', cookie);
    headers.push('x-tessera-sub', identity.sub, 'x-tessera-roles', identity.roles.join(','));
    if (identity.tid !== undefined) headers.push('x-tessera-tid', identity.tid);
    headers.push('x-tessera-session', identity.ref);
    if (identity.accessToken) headers.push('authorization', `Bearer ${identity.accessToken}`);
    const remote = req.socket.remoteAddress;
    if (remote) headers.push('x-forwarded-for', forwardedFor ? `${forwardedFor}, ${remote}` : remote);
    else if (forwardedFor) headers.push('x-forwarded-for', forwardedFor);
    const forwardedHost = host || clientForwardedHost;
    if (forwardedHost) headers.push('x-forwarded-host', forwardedHost);

    const method = req.method ?? 'GET';
    const hasBody = method !== 'GET' && method !== 'HEAD';
    // A declared length is enforced by node's parser; only a chunked body needs counting.
    const cap = hasBody && contentLength === undefined && Number.isFinite(this.#maxBodyBytes)
      ? capBody(req, this.#maxBodyBytes)
      : undefined;
    return new Promise<void>((resolve) => {
      this.#pool.dispatch(
        { path: req.url ?? '/', method, headers, body: cap ? cap.body : hasBody ? req : null },
        new ResponseRelay(res, resolve, cap),
      );
    });
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

/**
 * Writes the upstream's response to the client as it arrives: status and end-to-end headers, then
 * the body with backpressure (the upstream is paused while the client is slow). A client that goes
 * away aborts the upstream request. Built on undici's dispatch API, which hands over headers and
 * chunks with no intermediate stream objects.
 */
class ResponseRelay implements Dispatcher.DispatchHandler {
  #res: ServerResponse;
  #done: () => void;
  #cap: { exceeded: () => boolean } | undefined;
  #controller: Dispatcher.DispatchController | undefined;
  #finished = false;

  constructor(res: ServerResponse, done: () => void, cap: { exceeded: () => boolean } | undefined) {
    this.#res = res;
    this.#done = done;
    this.#cap = cap;
    res.once('close', this.#onClientClose);
  }

  #onClientClose = (): void => {
    if (!this.#finished) this.#controller?.abort(new Error('the client closed the connection'));
  };

  #onDrain = (): void => {
    this.#controller?.resume();
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#res.destroyed) controller.abort(new Error('the client closed the connection'));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx informational: not relayed
    const out: Array<string | string[]> = [];
    for (const name in headers) {
      const value = headers[name];
      if (value !== undefined && !hopByHop.has(name)) out.push(name, value);
    }
    this.#res.writeHead(statusCode, out as unknown as OutgoingHttpHeaders);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#res.write(chunk)) {
      controller.pause();
      this.#res.once('drain', this.#onDrain);
    }
  }

  onResponseEnd(): void {
    this.#finished = true;
    this.#res.end();
    this.#done();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.#finished = true;
    const res = this.#res;
    if (this.#cap?.exceeded()) {
      if (!res.headersSent) res.writeHead(413, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', connection: 'close' }).end('Request body too large.\n');
      else res.destroy();
    } else if (!res.destroyed) {
      logger.warn('upstream request failed', { error: err.message });
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end('The application behind the gateway did not answer.\n');
      } else {
        res.destroy(err);
      }
    }
    this.#done();
  }
}

/** The request body as a stream that fails (and marks `exceeded`) once it passes `maxBytes`. */
function capBody(req: IncomingMessage, maxBytes: number): { body: Readable; exceeded: () => boolean } {
  let exceeded = false;
  async function* chunks() {
    let seen = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      seen += chunk.length;
      if (seen > maxBytes) {
        exceeded = true;
        throw new Error(`request body over ${maxBytes} bytes`);
      }
      yield chunk;
    }
  }
  return { body: Readable.from(chunks()), exceeded: () => exceeded };
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
