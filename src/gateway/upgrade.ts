/**
 * WebSocket handshakes through the gateway. A handshake is decided as any request (the route
 * rules, the session, roles, step-up) and answered on the raw socket when refused; a foreign
 * `Origin` is refused (cookies ride along on a cross-site handshake). An accepted handshake is
 * relayed to the rule's upstream with the identity headers, and from the upstream's `101` on,
 * bytes flow both ways untouched, with backpressure. When the session ends, both sides get a
 * close frame `1008 session ended` where a frame boundary allows, else the connection drops.
 */
import { request as httpRequest, STATUS_CODES, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import { nodeFacts } from '../adapters/node-bridge.js';
import type { Denial } from '../app/denials.js';
import { isAuthPath } from '../app/router.js';
import type { RouteRule } from '../config/routes.js';
import { normalisePath } from '../lib/path.js';
import type { Logger } from '../observability/log.js';
import { failSpan, injectTraceContext } from '../observability/tracing.js';
import type { SessionEndReason } from '../session/ends.js';
import { internalsOf, type Tessera } from '../tessera.js';
import type { ClientLimit } from './client-limit.js';
import type { ForwardingPolicy } from './forwarding.js';
import type { UpstreamProxy } from './proxy.js';
import { closeFrame, FrameBoundary } from './websocket-frames.js';

export interface UpgradeContext {
  tessera: Tessera;
  /** The proxy (and so the upstream) of the rule that admitted a request. */
  proxyFor(rule: RouteRule): UpstreamProxy;
  upstreamFor(rule: RouteRule): string;
  forwarding: ForwardingPolicy;
  limit: ClientLimit;
  readHeaders(raw: string[]): { cookie: string | undefined; forwardedFor: string | undefined };
  sessionIdIn(cookie: string | undefined): string | undefined;
}

export interface UpgradeHandler {
  /** The server's `upgrade` listener. */
  handle(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void>;
  /** How many upgraded connections are open. */
  readonly open: number;
  /** Closes every open connection (`1001 going away`) and handshake in progress. */
  close(): void;
}

/** How long a closed side may take to answer a close frame before its connection is dropped. */
const closeGraceMs = 1000;
const reserved = new Set(['/healthz', '/readyz', '/metrics']);

export function createUpgradeHandler(ctx: UpgradeContext): UpgradeHandler {
  const { tessera } = ctx;
  const { config, logger, metrics, ends, sessions } = internalsOf(tessera);
  const publicOrigin = new URL(config.publicUrl).origin;
  const relays = new Set<WebSocketRelay>();
  const handshakes = new Set<Duplex>();

  async function handle(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', (err) => logger.debug({ error: err.message }, 'websocket client connection failed'));
    handshakes.add(socket);
    socket.once('close', () => handshakes.delete(socket));
    const url = req.url ?? '/';
    if (url.charCodeAt(0) !== 47 /* "/" */) return refuse(socket, 400, 'Bad request target.');
    if (req.headers.upgrade?.trim().toLowerCase() !== 'websocket') {
      return refuse(socket, 400, 'Only WebSocket upgrades ("Upgrade: websocket") are relayed.');
    }
    if (req.method !== 'GET') return refuse(socket, 400, 'A WebSocket handshake is a GET request.');
    const canonical = normalisePath(url);
    if (canonical.ok && (isAuthPath(canonical.path) || reserved.has(canonical.path))) {
      return refuse(socket, 404, 'Not a WebSocket endpoint.');
    }
    const { cookie, forwardedFor } = ctx.readHeaders(req.rawHeaders);
    // The same client as for a request: session binding's ip-prefix and the per-client cap.
    const peer = ctx.forwarding.peer(req.socket.remoteAddress, forwardedFor);
    let decision;
    try {
      decision = await tessera.decide(nodeFacts(req, config.publicUrl, cookie, () => peer.client), { canonical: 'forward' });
    } catch (err) {
      logger.error({ error: err instanceof Error ? err.stack : String(err) }, 'websocket handshake failed');
      return refuse(socket, 500, 'Internal error.');
    }
    if (decision.kind === 'respond') return refuse(socket, 404, 'Not a WebSocket endpoint.');
    if (decision.kind === 'deny') return writeDenial(socket, decision.denial);
    // `auth: "none"` routes relay without a check; every other one may carry an identity.
    if (decision.rule.auth !== 'none' && !originAllowed(req.rawHeaders, publicOrigin)) {
      logger.warn({ origin: req.headers.origin }, 'websocket handshake from a foreign origin refused');
      return refuse(socket, 403, `WebSocket handshakes are accepted only from ${publicOrigin}.`);
    }
    if (socket.destroyed) return;
    const session = decision.session;
    if (!ctx.limit.acquire(peer.client)) {
      return refuse(socket, 429, `Too many requests in flight from this client (at most ${ctx.limit.max}). Try again in a moment.`, { 'retry-after': '1' });
    }
    let released = false;
    const release = () => {
      if (!released) ctx.limit.release(peer.client);
      released = true;
    };

    const proxy = ctx.proxyFor(decision.rule);
    const { headers } = proxy.upstreamHeaders(req.rawHeaders, {
      identity: session && { sub: session.sub, roles: session.roles, tid: session.tid, ref: session.ref, acr: session.acr, amr: session.amr },
      peer,
      forwardedFor,
      sessionId: ctx.sessionIdIn(cookie),
    });
    headers.push('connection', 'Upgrade', 'upgrade', 'websocket');
    const span = proxy.startSpan('GET', decision.target);
    injectTraceContext(headers, span);
    let spanEnded = false;
    const endSpan = (status: number | undefined, err?: Error) => {
      if (spanEnded) return;
      spanEnded = true;
      if (err !== undefined) failSpan(span, err);
      else if (span.isRecording()) span.setAttribute('http.response.status_code', status!);
      span.end();
    };

    // Watched from now on, so an end during the handshake is not missed.
    const storeKey = session && sessions.storeKeyOf(session);
    let endedWith: SessionEndReason | undefined;
    let onEnd = (reason: SessionEndReason) => void (endedWith = reason);
    const unwatch = storeKey !== undefined && session !== undefined
      ? ends.watch(storeKey, session, ({ reason }) => onEnd(reason))
      : undefined;

    const upstream = new URL(ctx.upstreamFor(decision.rule));
    const send = upstream.protocol === 'https:' ? httpsRequest : httpRequest;
    const upstreamReq = send({
      protocol: upstream.protocol,
      hostname: upstream.hostname.replace(/^\[|\]$/g, ''),
      port: upstream.port || undefined,
      path: decision.target,
      method: 'GET',
      headers: headerObject(headers),
      agent: false,
      timeout: config.sendTimeoutMs,
    });
    const abandon = () => upstreamReq.destroy();
    socket.once('close', abandon);
    upstreamReq.on('timeout', () => upstreamReq.destroy(new Error('the upstream did not answer the handshake in time')));
    upstreamReq.on('error', (err) => {
      endSpan(undefined, err);
      release();
      unwatch?.();
      if (socket.destroyed) return;
      logger.warn({ error: err.message }, 'websocket upstream handshake failed');
      refuse(socket, 502, 'The application behind the gateway did not answer.');
    });
    upstreamReq.on('response', (res) => {
      // The application refused the upgrade: its answer goes back as it is, then the connection closes.
      endSpan(res.statusCode ?? 502);
      release();
      unwatch?.();
      socket.off('close', abandon);
      if (socket.destroyed) return void res.destroy();
      socket.write(statusLine(res.statusCode ?? 502, res.statusMessage) + rawHeaderLines(res.rawHeaders, framing) + 'connection: close\r\n\r\n');
      res.pipe(socket);
      res.on('error', () => socket.destroy());
    });
    upstreamReq.on('upgrade', (res, upstreamSocket, upstreamHead) => {
      endSpan(101);
      release();
      socket.off('close', abandon);
      if (socket.destroyed || endedWith !== undefined) {
        unwatch?.();
        upstreamSocket.destroy();
        socket.destroy();
        if (endedWith !== undefined) metrics.closedBySessionEnd('websocket', endedWith);
        return;
      }
      let lines = statusLine(101, res.statusMessage) + rawHeaderLines(res.rawHeaders, new Set());
      if (decision.clearCookie !== undefined) lines += `set-cookie: ${decision.clearCookie}\r\n`;
      socket.write(`${lines}\r\n`);
      const relay = new WebSocketRelay(socket, upstreamSocket, head, upstreamHead, logger, () => {
        unwatch?.();
        relays.delete(relay);
        metrics.upgradeClosed();
      });
      relays.add(relay);
      metrics.upgradeOpened();
      onEnd = (reason) => {
        metrics.closedBySessionEnd('websocket', reason);
        relay.close(1008, 'session ended');
      };
    });
    upstreamReq.end();
  }

  return {
    handle,
    get open() {
      return relays.size;
    },
    close() {
      for (const relay of [...relays]) relay.close(1001, 'going away');
      for (const socket of handshakes) socket.destroy();
    },
  };
}

/** True when the handshake carries no `Origin` (not a browser) or exactly one, the public origin. */
export function originAllowed(raw: string[], publicOrigin: string): boolean {
  let seen = 0;
  let allowed = true;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'origin') continue;
    seen += 1;
    allowed = seen === 1 && raw[i + 1] === publicOrigin;
  }
  return allowed;
}

/**
 * One upgraded connection: the client and upstream sockets piped into each other with
 * backpressure, each direction's frame boundaries followed so that a close frame of the
 * gateway's own never splits a frame.
 */
class WebSocketRelay {
  readonly #client: Duplex;
  readonly #upstream: Duplex;
  readonly #toClient = new FrameBoundary();
  readonly #toUpstream = new FrameBoundary();
  readonly #onClosed: () => void;
  #closing = false;
  #finished = false;

  constructor(client: Duplex, upstream: Duplex, clientHead: Buffer, upstreamHead: Buffer, logger: Logger, onClosed: () => void) {
    this.#client = client;
    this.#upstream = upstream;
    this.#onClosed = onClosed;
    upstream.on('error', (err) => logger.debug({ error: err.message }, 'websocket upstream connection failed'));
    if (upstreamHead.length > 0) this.#pass(upstreamHead, client, this.#toClient);
    if (clientHead.length > 0) this.#pass(clientHead, upstream, this.#toUpstream);
    this.#pipe(client, upstream, this.#toUpstream);
    this.#pipe(upstream, client, this.#toClient);
    const finish = () => {
      client.destroy();
      upstream.destroy();
      if (this.#finished) return;
      this.#finished = true;
      this.#onClosed();
    };
    client.once('close', finish);
    upstream.once('close', finish);
  }

  #pass(chunk: Buffer, to: Duplex, boundary: FrameBoundary): boolean {
    boundary.advance(chunk);
    return to.write(chunk);
  }

  #pipe(from: Duplex, to: Duplex, boundary: FrameBoundary): void {
    from.on('data', (chunk: Buffer) => {
      if (this.#closing) return;
      if (!this.#pass(chunk, to, boundary)) from.pause();
    });
    to.on('drain', () => {
      if (!this.#closing) from.resume();
    });
    from.on('end', () => to.end());
  }

  /** Ends the connection from the gateway: a close frame each way where a frame boundary allows, else a drop. */
  close(code: number, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    closeSide(this.#client, this.#toClient, closeFrame(code, reason, false));
    closeSide(this.#upstream, this.#toUpstream, closeFrame(code, reason, true));
    setTimeout(() => {
      this.#client.destroy();
      this.#upstream.destroy();
    }, closeGraceMs).unref();
  }
}

function closeSide(socket: Duplex, boundary: FrameBoundary, frame: Buffer): void {
  // Reads on, discarding, so the peer's own close and FIN are taken.
  socket.resume();
  if (boundary.atBoundary && !boundary.closed && socket.writable) socket.end(frame);
  else socket.destroy();
}

/** Headers that frame a response on the client connection; the gateway writes its own. */
const framing = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'proxy-connection']);

function statusLine(status: number, message: string | undefined): string {
  return `HTTP/1.1 ${status} ${(message ?? STATUS_CODES[status] ?? '').replace(/[\r\n]/g, '')}\r\n`;
}

function rawHeaderLines(raw: string[], skip: ReadonlySet<string>): string {
  let lines = '';
  for (let i = 0; i < raw.length; i += 2) {
    if (!skip.has(raw[i]!.toLowerCase())) lines += `${raw[i]!}: ${raw[i + 1]!}\r\n`;
  }
  return lines;
}

function headerObject(flat: string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!;
    const value = flat[i + 1]!;
    const existing = out[name];
    out[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return out;
}

function writeDenial(socket: Duplex, denial: Denial): void {
  writeRaw(socket, denial.status, denial.headers, denial.body);
}

function refuse(socket: Duplex, status: number, message: string, extra: Record<string, string> = {}): void {
  writeRaw(socket, status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extra }, `${message}\n`);
}

/** An HTTP answer on the raw socket of a refused handshake, then the connection closes. */
function writeRaw(socket: Duplex, status: number, headers: Record<string, string>, body: string): void {
  if (socket.destroyed) return;
  let head = statusLine(status, undefined);
  for (const [name, value] of Object.entries(headers)) if (!framing.has(name)) head += `${name}: ${value}\r\n`;
  head += `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n`;
  socket.end(head + body);
  setTimeout(() => socket.destroy(), closeGraceMs).unref();
}

