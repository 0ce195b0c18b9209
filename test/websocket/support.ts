/**
 * Helpers for the WebSocket tests: an upstream application with a `ws` server (echo, and the
 * handshake headers it saw) and a Server-Sent Events stream, and a `ws` client that reports how
 * a handshake was answered and when and how its socket closed.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import { closeServer, listen } from '../helpers/stack.js';

export interface WsUpstream {
  url: string;
  /** The handshake headers of every socket the application accepted. */
  handshakes: IncomingHttpHeaders[];
  /** Close codes the application's sockets were closed with. */
  closes: number[];
  /** How many `/poll` requests have arrived. */
  polls: number;
  close(): Promise<void>;
}

/**
 * Echoes every message; `/events` is an SSE stream with an event every 100 ms; `/poll` is a long
 * poll that is never answered; anything else answers 200 ok.
 */
export async function startWsUpstream(): Promise<WsUpstream> {
  const handshakes: IncomingHttpHeaders[] = [];
  const closes: number[] = [];
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/events')) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      let n = 0;
      const timer = setInterval(() => res.write(`data: ${n++}\n\n`), 100);
      res.on('close', () => clearInterval(timer));
      return;
    }
    if (req.url?.startsWith('/poll')) return void upstream.polls++; // held open until the gateway gives up
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket, req) => {
    handshakes.push(req.headers);
    socket.on('message', (data, binary) => socket.send(data, { binary }));
    socket.on('close', (code) => closes.push(code));
  });
  const url = await listen(server, 0);
  const upstream: WsUpstream = {
    url,
    handshakes,
    closes,
    polls: 0,
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await closeServer(server);
    },
  };
  return upstream;
}

export type Handshake =
  | { open: true; socket: WebSocket; closed: Promise<{ code: number; reason: string; at: number }> }
  | { open: false; status: number; body: string };

/** Opens a socket to the gateway; resolves once it is open, or with the status a refused handshake got. */
export function connectWs(port: number, path: string, headers: Record<string, string> = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers });
    const closed = new Promise<{ code: number; reason: string; at: number }>((done) => {
      socket.on('close', (code, reason) => done({ code, reason: reason.toString(), at: performance.now() }));
    });
    socket.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ open: false, status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ open: false, status: res.statusCode ?? 0, body }));
    });
    socket.on('open', () => resolve({ open: true, socket, closed }));
    socket.on('error', (err) => {
      if (socket.readyState === WebSocket.CONNECTING) reject(err);
    });
  });
}

/** Opens a socket or fails the test with the status it got. */
export async function openWs(port: number, path: string, headers: Record<string, string> = {}) {
  const handshake = await connectWs(port, path, headers);
  if (!handshake.open) throw new Error(`handshake refused with ${handshake.status}: ${handshake.body}`);
  return handshake;
}

/** Sends a message and resolves with the first answer. */
export function echo(socket: WebSocket, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    socket.once('message', (data) => resolve(data.toString()));
    socket.once('error', reject);
    socket.send(message);
  });
}

/** Resolves with how many ms after `since` (a `performance.now()` reading) the socket closed, or rejects after `ms`. */
export async function closesWithin(closed: Promise<{ code: number; reason: string; at: number }>, since: number, ms: number) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the socket was still open ${ms} ms later`)), ms);
  });
  try {
    const result = await Promise.race([closed, timeout]);
    return { ...result, afterMs: Math.round(result.at - since) };
  } finally {
    clearTimeout(timer);
  }
}
