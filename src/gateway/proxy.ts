import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { removeCookies } from '../lib/cookies.js';
import type { Logger } from '../observability/log.js';
import { failSpan, injectTraceContext, SpanKind, SpanStatusCode, tracer, type Span } from '../observability/tracing.js';
import type { Peer } from './forwarding.js';
import { hopByHop, isForwardingHeader, isFramingHeader, isIdentityHeader } from './request-headers.js';

export interface IdentityHeaders {
  sub: string;
  roles: string[];
  tid: string | undefined;
  ref: string;
  acr: string | undefined;
  amr: string[] | undefined;
  accessToken?: string | undefined;
}

/** One request's forwarding: who it is for, where it came from, and the path the application gets. */
export interface Forwarding {
  /** The identity headers to set; undefined sends none (public routes, optional routes without a session). */
  identity: IdentityHeaders | undefined;
  peer: Peer;
  /** The client's `X-Forwarded-For` lines joined (kept only from trusted proxies). */
  forwardedFor: string | undefined;
  /**
   * The session cookie's value: no cookie carrying it goes upstream, whatever its name is spelled
   * like (an upstream's parser may read names differently from ours).
   */
  sessionId: string | undefined;
  /** The canonical path and query the route rule matched: exactly what the upstream receives. */
  target: string;
  /** A `Set-Cookie` to add to the response (clearing a dead session cookie). */
  setCookie?: string | undefined;
  /** The request's session, whose end ends the response (a Server-Sent Events stream, a long poll). */
  sessionEnd?: SessionEndHook | undefined;
}

export interface SessionEndHook {
  /** Calls `end` when the session ends; returns the function that stops watching. */
  watch(end: () => void): () => void;
  /** The answer when the session ends before the upstream has answered (a long poll). */
  answer(): { status: number; headers: Record<string, string>; body: string };
}

export interface ProxyOptions {
  /** The application's origin. */
  upstream: string;
  /** Caps bodies without a Content-Length (chunked); declared lengths are checked before. */
  maxBodyBytes: number;
  /** A response the client stops reading for this long is dropped, and its upstream connection freed. */
  sendTimeoutMs: number;
  /** Pass client header names with `_` (nginx's `underscores_in_headers`); identity spellings are dropped regardless. */
  allowUnderscoreHeaders: boolean;
  /** The public URL: `X-Forwarded-Proto` and `X-Forwarded-Host` are taken from it, never from the client's `Host`. */
  publicUrl: string;
  /** True for the name of a cookie Tessera owns (never sent upstream). */
  isTesseraCookie: (name: string) => boolean;
  logger: Logger;
}

/**
 * Forwards a request to the one configured upstream over keep-alive connections, bodies streamed
 * both ways. Client identity headers (any spelling), Tessera's cookies and — unless the peer is a
 * trusted proxy — forwarding headers are dropped; the identity and forwarding headers are set by
 * the gateway. Connections are not a fixed pool: the per-client limit and the send timeout are
 * what keep one client from holding them all.
 */
export class UpstreamProxy {
  #pool: Pool;
  #options: ProxyOptions;
  #forwardedProto: string;
  #forwardedHost: string;
  #upstreamOrigin: URL;

  constructor(options: ProxyOptions) {
    this.#options = options;
    const publicUrl = new URL(options.publicUrl);
    this.#forwardedProto = publicUrl.protocol.slice(0, -1);
    this.#forwardedHost = publicUrl.host;
    this.#upstreamOrigin = new URL(new URL(options.upstream).origin);
    this.#pool = new Pool(this.#upstreamOrigin.origin, { connections: null, pipelining: 1, keepAliveTimeout: 30_000 });
  }

  forward(req: IncomingMessage, res: ServerResponse, forwarding: Forwarding): Promise<void> {
    const { headers, contentLength } = this.upstreamHeaders(req.rawHeaders, forwarding);
    const method = req.method ?? 'GET';
    const hasBody = method !== 'GET' && method !== 'HEAD';
    const maxBodyBytes = this.#options.maxBodyBytes;
    // A declared length is enforced by node's parser; only a chunked body needs counting.
    const cap = hasBody && contentLength === undefined && Number.isFinite(maxBodyBytes)
      ? capBody(req, maxBodyBytes)
      : undefined;
    const span = this.startSpan(method, forwarding.target);
    injectTraceContext(headers, span);
    return new Promise<void>((resolve) => {
      this.#pool.dispatch(
        { path: forwarding.target, method, headers, body: cap ? cap.body : hasBody ? req : null },
        new ResponseRelay(res, resolve, cap, this.#options.sendTimeoutMs, this.#options.logger, forwarding.setCookie, forwarding.sessionEnd, span),
      );
    });
  }

  /**
   * The CLIENT span of one upstream request (HTTP client semantic conventions). `url.full` and
   * `url.path` leave the query out: it is the application's, and may carry its secrets. Ended by
   * whoever sends the request (`forward`, the WebSocket handshake).
   */
  startSpan(method: string, target: string): Span {
    const span = tracer.startSpan('tessera.upstream', clientSpan);
    // Attributes only for a span that records: without an SDK a request pays for one span object.
    if (span.isRecording()) {
      const origin = this.#upstreamOrigin;
      const query = target.indexOf('?');
      const path = query === -1 ? target : target.slice(0, query);
      span.setAttributes({
        'http.request.method': method,
        'server.address': origin.hostname,
        'server.port': Number(origin.port) || (origin.protocol === 'https:' ? 443 : 80),
        'url.full': `${origin.origin}${path}`,
        'url.path': path,
      });
    }
    return span;
  }

  /**
   * The header list the upstream gets for a client's `rawHeaders`: the same rules for every
   * request and for WebSocket handshakes (hop-by-hop headers, `Upgrade` included, are the
   * caller's to add).
   */
  upstreamHeaders(raw: string[], forwarding: Omit<Forwarding, 'target'>): { headers: string[]; contentLength: string | undefined } {
    const { identity, peer, forwardedFor, sessionId } = forwarding;
    const { allowUnderscoreHeaders, isTesseraCookie } = this.#options;
    // A flat name/value list: what undici takes with the least work, and duplicates stay as sent.
    const headers: string[] = [];
    let cookie = '';
    let contentLength: string | undefined;
    let connectionTokens: string | undefined;
    let forwardedProto = false;
    let forwardedHost = false;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      const value = raw[i + 1]!;
      if (hopByHop.has(name)) {
        if (name === 'connection') connectionTokens = connectionTokens === undefined ? value : `${connectionTokens},${value}`;
        continue;
      }
      if (isIdentityHeader(name) || (name === 'authorization' && identity?.accessToken)) continue;
      if (name.includes('_') && (!allowUnderscoreHeaders || isFramingHeader(name.replace(/_/g, '-')))) continue;
      if (name === 'cookie') {
        const kept = removeCookies(value, (n, v) => isTesseraCookie(n) || (sessionId !== undefined && v.includes(sessionId)));
        if (kept) cookie = cookie ? `${cookie}; ${kept}` : kept;
        continue;
      }
      if (isForwardingHeader(name)) {
        // From anyone but a trusted proxy these are the client's claims about itself: dropped.
        if (!peer.trusted || name === 'x-forwarded-for') continue;
        if (name === 'x-forwarded-proto') forwardedProto = true;
        else if (name === 'x-forwarded-host') forwardedHost = true;
      }
      if (name === 'content-length') contentLength = value;
      headers.push(name, value);
    }
    if (connectionTokens !== undefined) {
      const dropped = dropConnectionOptions(headers, connectionTokens);
      if (dropped.has('x-forwarded-proto')) forwardedProto = false;
      if (dropped.has('x-forwarded-host')) forwardedHost = false;
    }
    if (cookie) headers.push('cookie', cookie);
    if (identity !== undefined) {
      headers.push('x-tessera-sub', identity.sub, 'x-tessera-roles', identity.roles.join(','));
      if (identity.tid !== undefined) headers.push('x-tessera-tid', identity.tid);
      headers.push('x-tessera-session', identity.ref);
      if (identity.acr !== undefined) headers.push('x-tessera-acr', identity.acr);
      if (identity.amr !== undefined && identity.amr.length > 0) headers.push('x-tessera-amr', identity.amr.join(','));
      if (identity.accessToken) headers.push('authorization', `Bearer ${identity.accessToken}`);
    }
    const chain = peer.trusted && forwardedFor ? `${forwardedFor}, ${peer.address}` : peer.address;
    if (chain) headers.push('x-forwarded-for', chain);
    if (!forwardedProto) headers.push('x-forwarded-proto', this.#forwardedProto);
    if (!forwardedHost) headers.push('x-forwarded-host', this.#forwardedHost);

    return { headers, contentLength };
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

const clientSpan = { kind: SpanKind.CLIENT };

/** Removes the headers a client named in `Connection` (RFC 9110 §7.6.1), except those the gateway sets itself. */
function dropConnectionOptions(headers: string[], tokens: string): Set<string> {
  const named = new Set(tokens.split(',').map((t) => t.trim().toLowerCase()).filter((t) => t && t !== 'close' && t !== 'keep-alive'));
  const dropped = new Set<string>();
  if (named.size === 0) return dropped;
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    if (named.has(headers[i]!)) {
      dropped.add(headers[i]!);
      headers.splice(i, 2);
    }
  }
  return dropped;
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
  #sendTimeoutMs: number;
  #logger: Logger;
  #stalled: NodeJS.Timeout | undefined;

  #setCookie: string | undefined;
  #sessionEnd: SessionEndHook | undefined;
  #unwatch: (() => void) | undefined;
  #endedBySession = false;
  #eventStream = false;
  #span: Span;

  constructor(res: ServerResponse, done: () => void, cap: { exceeded: () => boolean } | undefined, sendTimeoutMs: number, logger: Logger, setCookie: string | undefined, sessionEnd: SessionEndHook | undefined, span: Span) {
    this.#res = res;
    this.#span = span;
    this.#sessionEnd = sessionEnd;
    if (sessionEnd !== undefined) this.#unwatch = sessionEnd.watch(this.#onSessionEnd);
    this.#setCookie = setCookie;
    this.#logger = logger;
    this.#done = () => {
      this.#unwatch?.();
      span.end();
      done();
    };
    this.#cap = cap;
    this.#sendTimeoutMs = sendTimeoutMs;
    res.once('close', this.#onClientClose);
  }

  /**
   * The session ended while the response runs: a long poll not yet answered gets what any
   * request of the session would now get (`SessionEndHook.answer`); an event stream ends (at a chunk boundary, which
   * `EventSource` reads as the end of the stream); any other body is cut (a dropped connection,
   * never a truncated body that looks complete).
   */
  #onSessionEnd = (): void => {
    if (this.#finished) return;
    this.#finished = true;
    this.#endedBySession = true;
    if (this.#span.isRecording()) this.#span.setAttribute('tessera.ended_by', 'session_end');
    this.#clearStall();
    this.#controller?.abort(new Error('the session ended'));
    const res = this.#res;
    if (!res.headersSent) {
      const answer = this.#sessionEnd!.answer();
      res.writeHead(answer.status, answer.headers).end(answer.body);
    } else if (this.#eventStream) {
      res.end();
    } else {
      res.destroy();
    }
    this.#done();
  };

  #onClientClose = (): void => {
    this.#clearStall();
    if (!this.#finished) this.#controller?.abort(new Error('the client closed the connection'));
  };

  #onDrain = (): void => {
    this.#clearStall();
    if (!this.#finished) this.#controller?.resume();
  };

  /** The client stopped reading: give it `sendTimeoutMs` to drain, then drop it (which frees the upstream connection). */
  #stall(): void {
    this.#clearStall();
    this.#stalled = setTimeout(() => {
      this.#logger.warn({ timeoutMs: this.#sendTimeoutMs }, 'client stopped reading the response; connection dropped');
      this.#res.destroy();
    }, this.#sendTimeoutMs);
    this.#stalled.unref();
  }

  #clearStall(): void {
    if (this.#stalled !== undefined) clearTimeout(this.#stalled);
    this.#stalled = undefined;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#res.destroyed) controller.abort(new Error('the client closed the connection'));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx informational: not relayed
    const span = this.#span;
    if (span.isRecording()) {
      span.setAttribute('http.response.status_code', statusCode);
      // A client span's 4xx and 5xx are errors (HTTP semantic conventions).
      if (statusCode >= 400) span.setAttribute('error.type', String(statusCode)).setStatus({ code: SpanStatusCode.ERROR });
    }
    const type = headers['content-type'];
    this.#eventStream = typeof type === 'string' && type.toLowerCase().startsWith('text/event-stream') && headers['content-length'] === undefined;
    const out: Array<string | string[]> = [];
    for (const name in headers) {
      const value = headers[name];
      if (value !== undefined && !hopByHop.has(name)) out.push(name, value);
    }
    if (this.#setCookie !== undefined) out.push('set-cookie', this.#setCookie);
    this.#res.writeHead(statusCode, out as unknown as OutgoingHttpHeaders);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#endedBySession) return;
    if (!this.#res.write(chunk)) {
      controller.pause();
      this.#res.once('drain', this.#onDrain);
      this.#stall();
    }
  }

  onResponseEnd(): void {
    if (this.#endedBySession) return;
    this.#finished = true;
    const res = this.#res;
    // The upstream is done; a client still not reading the tail gets the same deadline.
    if (res.writableNeedDrain) this.#stall();
    res.end();
    this.#done();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.#endedBySession) return;
    this.#finished = true;
    this.#clearStall();
    failSpan(this.#span, err);
    const res = this.#res;
    if (this.#cap?.exceeded()) {
      if (!res.headersSent) res.writeHead(413, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', connection: 'close' }).end('Request body too large.\n');
      else res.destroy();
    } else if (!res.destroyed) {
      this.#logger.warn({ error: err.message }, 'upstream request failed');
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
