/**
 * `Expect: 100-continue` through the gateway, on a raw socket as curl and most HTTP clients do it
 * for bodies over 1 KB: headers, wait for `100 Continue`, then the body. A signed-in upload
 * reaches the upstream whole; a request the gateway refuses gets its final answer without a
 * `100 Continue` first (its body is never invited), and the upstream sees nothing of it.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { parseForms } from '../helpers/browser.js';
import { closeServer, listen } from '../helpers/stack.js';
import { sessionStatus, signIn, sleep, useSignedInStack } from './support.js';

const KB = 1024;
const MB = 1024 * KB;

interface Upload { url: string; headers: Record<string, string | string[] | undefined>; length: number; sha256: string }

/** An upstream that hashes every request body it receives and answers with what it got. */
async function startHashingUpstream(): Promise<{ url: string; uploads: Upload[]; close(): Promise<void> }> {
  const uploads: Upload[] = [];
  const server = createServer((req, res) => {
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
    });
    req.on('end', () => {
      const upload = { url: req.url ?? '', headers: req.headers, length, sha256: hash.digest('hex') };
      uploads.push(upload);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ length, sha256: upload.sha256 }));
    });
  });
  const url = await listen(server, 0);
  return { url, uploads, close: () => closeServer(server) };
}

interface Exchange {
  /** Everything the gateway sent, in order. */
  answer: string;
  /** Whether `100 Continue` came before the final status line. */
  continued: boolean;
  /** The final status (0 when none arrived). */
  status: number;
  /** Whether the body was sent (only after `100 Continue`). */
  bodySent: boolean;
}

/**
 * Sends the request head, waits for `100 Continue`, then sends `body` — never before. Resolves
 * when the gateway closes the connection or `ms` pass, or shortly after a final answer arrives
 * when the body was never invited.
 */
function expectExchange(port: number, head: string, body: Buffer | undefined, ms = 8000): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    let bodySent = false;
    let settle: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      clearTimeout(settle);
      socket.destroy();
      const continued = answer.startsWith('HTTP/1.1 100 Continue\r\n\r\n');
      const rest = continued ? answer.slice('HTTP/1.1 100 Continue\r\n\r\n'.length) : answer;
      resolve({ answer, continued, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(rest)?.[1] ?? 0), bodySent });
    };
    const timer = setTimeout(finish, ms);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      answer += chunk;
      if (!bodySent && body !== undefined && answer.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) {
        bodySent = true;
        socket.write(body);
      }
      // A final answer without an invitation: the body is never sent; give the rest a moment.
      if (!bodySent && /^HTTP\/1\.1 [2-5]\d\d /.test(answer) && settle === undefined) settle = setTimeout(finish, 300);
    });
    socket.on('close', finish);
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? finish() : reject(err)));
    socket.write(head);
  });
}

const hex = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** The HTTP/1.1 chunked encoding of `data`, in 16 KB chunks. */
function chunked(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += 16 * KB) {
    const piece = data.subarray(i, i + 16 * KB);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

describe('Expect: 100-continue', () => {
  /** The gateway under test in front of a hashing upstream, signed in as alice. */
  const gw = useSignedInStack({ upstream: startHashingUpstream });

  const head = (lines: string[]) => [...lines, 'Expect: 100-continue', 'Connection: close', '', ''].join('\r\n');

  for (const size of [2 * KB, 64 * KB, MB]) {
    test(`a signed-in ${size / KB} KB upload is invited with 100 Continue and reaches the upstream whole (200)`, async () => {
      const data = randomBytes(size);
      const seen = gw.upstream.uploads.length;
      const result = await expectExchange(gw.port, head([
        'POST /upload HTTP/1.1', `Host: localhost:${gw.port}`, `Cookie: tessera=${gw.id}`, 'Content-Type: application/octet-stream', `Content-Length: ${size}`,
      ]), data);
      assert.ok(result.continued, `no 100 Continue first: ${result.answer.slice(0, 120)}`);
      assert.equal(result.status, 200, result.answer.slice(0, 300));
      assert.equal(gw.upstream.uploads.length, seen + 1, 'one request reached the upstream');
      const upload = gw.upstream.uploads.at(-1)!;
      assert.equal(upload.length, size);
      assert.equal(upload.sha256, hex(data));
      assert.ok(result.answer.includes(hex(data)), 'the upstream answer is relayed');
    });
  }

  test('a signed-in chunked upload (no Content-Length) with Expect reaches the upstream whole', async () => {
    const data = randomBytes(256 * KB);
    const seen = gw.upstream.uploads.length;
    const result = await expectExchange(gw.port, head([
      'PUT /upload HTTP/1.1', `Host: localhost:${gw.port}`, `Cookie: tessera=${gw.id}`, 'Content-Type: application/octet-stream', 'Transfer-Encoding: chunked',
    ]), chunked(data));
    assert.ok(result.continued, `no 100 Continue first: ${result.answer.slice(0, 120)}`);
    assert.equal(result.status, 200, result.answer.slice(0, 300));
    assert.equal(gw.upstream.uploads.length, seen + 1);
    assert.equal(gw.upstream.uploads.at(-1)!.length, data.length);
    assert.equal(gw.upstream.uploads.at(-1)!.sha256, hex(data));
  });

  const anonymous: Array<[string, string[], number]> = [
    ['no cookie, a browser', ['Accept: text/html'], 302],
    ['no cookie, an API client', ['Accept: application/json'], 401],
    ['an unknown session id', ['Accept: text/html', `Cookie: tessera=${'A'.repeat(43)}`], 302],
    ['a malformed session cookie', ['Accept: application/json', 'Cookie: tessera=nope'], 401],
  ];
  for (const [name, lines, expected] of anonymous) {
    test(`without a session (${name}) the answer is ${expected}, with no 100 Continue before it, and the upstream sees nothing`, async () => {
      const seen = gw.upstream.uploads.length;
      const result = await expectExchange(gw.port, head([
        'POST /upload HTTP/1.1', `Host: localhost:${gw.port}`, ...lines, 'Content-Type: application/octet-stream', `Content-Length: ${MB}`,
      ]), randomBytes(MB), 3000);
      assert.equal(result.continued, false, `100 Continue invited the body of an anonymous request: ${result.answer.slice(0, 120)}`);
      assert.equal(result.bodySent, false);
      assert.equal(result.status, expected, result.answer.slice(0, 300));
      await sleep(100);
      assert.equal(gw.upstream.uploads.length, seen, 'the upstream saw nothing');
    });
  }

  test('a signed-in upload declaring more than 10 MB is refused with 413, never invited', async () => {
    const seen = gw.upstream.uploads.length;
    const result = await expectExchange(gw.port, head([
      'POST /upload HTTP/1.1', `Host: localhost:${gw.port}`, `Cookie: tessera=${gw.id}`, 'Content-Type: application/octet-stream', `Content-Length: ${11 * MB}`,
    ]), Buffer.alloc(MB), 3000);
    assert.equal(result.continued, false, `100 Continue before the refusal: ${result.answer.slice(0, 120)}`);
    assert.equal(result.status, 413, result.answer.slice(0, 300));
    assert.equal(gw.upstream.uploads.length, seen);
  });

  test('POST /auth/logout with Expect: 100-continue is invited, logs out (303) and ends the session', async () => {
    const browser = gw.stack.browser();
    const session = await signIn(gw.stack, browser);
    const page = await browser.request(`${gw.stack.url}/auth/logout`);
    assert.equal(page.status, 200);
    const csrf = parseForms(page.text, page.url)[0]!.fields.csrf!;
    const body = Buffer.from(new URLSearchParams({ csrf, note: 'n'.repeat(4 * KB) }).toString());
    const result = await expectExchange(gw.port, head([
      'POST /auth/logout HTTP/1.1', `Host: localhost:${gw.port}`, `Cookie: tessera=${session}`, 'Content-Type: application/x-www-form-urlencoded', `Content-Length: ${body.length}`,
    ]), body);
    assert.ok(result.continued, `no 100 Continue first: ${result.answer.slice(0, 120)}`);
    assert.equal(result.status, 303, result.answer.slice(0, 300));
    assert.equal(await sessionStatus(gw.stack, `tessera=${session}`), 401, 'the session is gone');
    assert.equal(await sessionStatus(gw.stack, `tessera=${gw.id}`), 200, 'other sessions are not');
  });
});
