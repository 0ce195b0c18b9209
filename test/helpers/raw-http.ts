/**
 * One HTTP/1.1 request with a request target sent byte for byte (no URL parser in between: `fetch`
 * and undici resolve `..` and `%2e` before sending), for tests of path handling.
 */
import { connect } from 'node:net';

export interface RawAnswer {
  /** 0 when the server closed without answering. */
  status: number;
  /** Lower-case names; every value of a repeated header. */
  headers: Map<string, string[]>;
  body: string;
}

/**
 * Sends `METHOD target HTTP/1.1` with `Connection: close` and `headers`, and reads the answer to
 * the end (a `100 Continue` interim answer is skipped).
 */
export function rawRequest(port: number, target: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}, ms = 5000): Promise<RawAnswer> {
  const method = init.method ?? 'GET';
  const lines = [`${method} ${target} HTTP/1.1`, `Host: localhost:${port}`, 'Connection: close'];
  for (const [name, value] of Object.entries(init.headers ?? {})) lines.push(`${name}: ${value}`);
  if (init.body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(init.body)}`);
  const data = Buffer.from(`${lines.join('\r\n')}\r\n\r\n${init.body ?? ''}`, 'latin1');
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parse(Buffer.concat(chunks).toString('latin1')));
    };
    const timer = setTimeout(done, ms);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') done();
      else if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(err);
      }
    });
    socket.write(data);
  });
}

function parse(text: string): RawAnswer {
  let rest = text;
  // Interim answers (100 Continue) come before the final one.
  while (/^HTTP\/1\.1 1\d\d /.test(rest)) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) break;
    rest = rest.slice(end + 4);
  }
  const end = rest.indexOf('\r\n\r\n');
  const head = end === -1 ? rest : rest.slice(0, end);
  const raw = end === -1 ? '' : rest.slice(end + 4);
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers = new Map<string, string[]>();
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  const chunked = (headers.get('transfer-encoding') ?? []).some((v) => v.toLowerCase().includes('chunked'));
  return { status, headers, body: Buffer.from(chunked ? unchunk(raw) : raw, 'latin1').toString('utf8') };
}

function unchunk(raw: string): string {
  let out = '';
  let rest = raw;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n');
    if (lineEnd === -1) return out;
    const size = parseInt(rest.slice(0, lineEnd), 16);
    if (!Number.isFinite(size) || size === 0) return out;
    out += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    rest = rest.slice(lineEnd + 2 + size + 2);
  }
}

/** The first value of a header of a raw answer. */
export const header = (answer: RawAnswer, name: string): string | undefined => answer.headers.get(name.toLowerCase())?.[0];
