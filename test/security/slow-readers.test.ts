/**
 * SECURITY.md, "Gateway": one client cannot exhaust the upstream pool. A per-client cap on
 * requests in flight (`maxRequestsPerClient`, answered with 429 and Retry-After), and a send
 * timeout (`sendTimeout`) that drops a client which stops reading a response and frees the
 * upstream's. The headline: a crowd of never-reading sockets from one signed-in user does not
 * keep another client from being served. Every socket opened here is destroyed before its test ends.
 */
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { closeServer, listen, startStack, type Stack } from '../helpers/stack.js';
import { eventually, rawExchange, rawStatus, signIn, sleep } from './support.js';

const KB = 1024;
const MB = 1024 * KB;
const BIG = 32 * MB;

/**
 * The application: `/big` streams 32 MB in 64 KB chunks as fast as it is read (and records
 * whether each response finished or was closed early), `/hold` answers only when released, and
 * everything else answers `ok` at once.
 */
async function startLargeUpstream() {
  const stats = { bigStarted: 0, bigFinished: 0, bigClosedEarly: 0, holdSeen: 0, other: 0 };
  const held: ServerResponse[] = [];
  const chunk = Buffer.alloc(64 * KB, 'x');
  const server = createServer((req, res) => {
    req.resume();
    if (req.url === '/big') {
      stats.bigStarted += 1;
      let sent = 0;
      let closed = false;
      res.on('close', () => {
        closed = true;
        if (res.writableFinished) stats.bigFinished += 1;
        else stats.bigClosedEarly += 1;
      });
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(BIG) });
      const pump = () => {
        while (!closed && sent < BIG) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!closed) res.end();
      };
      pump();
    } else if (req.url === '/hold') {
      stats.holdSeen += 1;
      held.push(res);
    } else {
      stats.other += 1;
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    }
  });
  const url = await listen(server, 0);
  return {
    url,
    stats,
    held,
    release() {
      for (const res of held.splice(0)) res.writeHead(200, { 'content-type': 'text/plain' }).end('released');
    },
    close: () => closeServer(server),
  };
}

const requestHead = (path: string, cookie: string, port: number) =>
  `GET ${path} HTTP/1.1\r\nHost: localhost:${port}\r\nCookie: tessera=${cookie}\r\nConnection: close\r\n\r\n`;

/** A request from `from` whose answer is read to the end; resolves with it (or what came within `ms`) and how long it took. */
async function exchange(port: number, path: string, cookie: string, from = '127.0.0.1', ms = 5000): Promise<{ answer: string; ms: number }> {
  const started = Date.now();
  const answer = await rawExchange(port, requestHead(path, cookie, port), ms, from);
  return { answer, ms: Date.now() - started };
}

/** A request whose answer is never read: the socket stays paused, as a slowloris reader's does. */
function neverReading(port: number, path: string, cookie: string, from = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: from }, () => {
      socket.write(requestHead(path, cookie, port), () => resolve(socket));
    });
    socket.pause();
    socket.on('error', (err) => reject(err));
  });
}

/** Reads a paused socket to its end now; resolves with the bytes received (or what came within `ms`). */
function drain(socket: Socket, ms: number): Promise<{ bytes: number; closed: boolean }> {
  return new Promise((resolve) => {
    let bytes = 0;
    const timer = setTimeout(() => resolve({ bytes, closed: false }), ms);
    socket.on('data', (data: Buffer) => (bytes += data.length));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ bytes, closed: true });
    });
    socket.resume();
  });
}

describe('slow readers and the per-client cap', () => {
  let upstream: Awaited<ReturnType<typeof startLargeUpstream>>;
  let base: Stack;
  const sockets: Socket[] = [];

  before(async () => {
    upstream = await startLargeUpstream();
    base = await startStack({ options: { upstream: upstream.url } });
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    upstream?.release();
    await base?.close();
    await upstream?.close();
  });

  /** Destroys every socket a test opened and waits until the upstream has seen each `/big` response end. */
  async function cleanUp(): Promise<void> {
    for (const socket of sockets.splice(0)) socket.destroy();
    upstream.release();
    await eventually(async () => upstream.stats.bigStarted === upstream.stats.bigFinished + upstream.stats.bigClosedEarly, 10_000);
  }

  describe('maxRequestsPerClient: 4', () => {
    let stack: Stack;
    let port: number;
    let alice: string;
    let bob: string;
    before(async () => {
      stack = await startStack({ idp: base.idp, options: { upstream: upstream.url, maxRequestsPerClient: 4 } });
      port = Number(new URL(stack.url).port);
      alice = await signIn(stack, stack.browser());
      bob = await signIn(stack, stack.browser(), { username: 'bob' });
    });
    after(async () => {
      await cleanUp();
      await stack?.close();
    });

    test('the 5th concurrent request from one address answers 429 with Retry-After; another address still gets 200', async () => {
      const seen = upstream.stats.holdSeen;
      const inFlight = [1, 2, 3, 4].map(() => exchange(port, '/hold', alice, '127.0.0.1', 15_000));
      assert.ok(await eventually(async () => upstream.stats.holdSeen === seen + 4), `4 requests reached the upstream (${upstream.stats.holdSeen - seen})`);

      const fifth = await exchange(port, '/hold', alice);
      assert.equal(rawStatus(fifth.answer), 429, fifth.answer.slice(0, 200));
      assert.match(fifth.answer, /\r\nretry-after: *\d+\r\n/i, 'a 429 says when to retry');
      const otherUser = await exchange(port, '/hold', bob);
      assert.equal(rawStatus(otherUser.answer), 429, 'the cap is per address, whoever is signed in');
      await sleep(100);
      assert.equal(upstream.stats.holdSeen, seen + 4, 'the refused requests never reached the upstream');

      const elsewhere = await exchange(port, '/ok', bob, '127.0.0.2');
      assert.equal(rawStatus(elsewhere.answer), 200, 'a request from 127.0.0.2 is served');
      const elsewhereSameUser = await exchange(port, '/ok', alice, '127.0.0.2');
      assert.equal(rawStatus(elsewhereSameUser.answer), 200, 'and so is one from 127.0.0.2 with the same session');

      upstream.release();
      for (const { answer } of await Promise.all(inFlight)) assert.equal(rawStatus(answer), 200);
      const again = await exchange(port, '/ok', alice);
      assert.equal(rawStatus(again.answer), 200, 'finished requests give their slots back');
    });

    test('a client that goes away before the upstream answers gives its slot back', async () => {
      const seen = upstream.stats.holdSeen;
      const waiting = await Promise.all([1, 2, 3, 4].map(() => neverReading(port, '/hold', alice)));
      sockets.push(...waiting);
      assert.ok(await eventually(async () => upstream.stats.holdSeen === seen + 4));
      assert.equal(rawStatus((await exchange(port, '/ok', alice)).answer), 429);
      for (const socket of waiting) socket.destroy();
      assert.ok(await eventually(async () => rawStatus((await exchange(port, '/ok', alice)).answer) === 200, 3000), 'the slots came back once the clients left');
      upstream.release();
    });
  });

  describe("sendTimeout: '1s'", () => {
    let stack: Stack;
    let port: number;
    let alice: string;
    before(async () => {
      stack = await startStack({ idp: base.idp, options: { upstream: upstream.url, sendTimeout: '1s' } });
      port = Number(new URL(stack.url).port);
      alice = await signIn(stack, stack.browser());
    });
    after(async () => {
      await cleanUp();
      await stack?.close();
    });

    test('sockets that ask for 32 MB and never read are dropped within seconds, and the upstream responses are closed early', async () => {
      const started = { ...upstream.stats };
      const opened = Date.now();
      const stalled = await Promise.all([1, 2, 3].map(() => neverReading(port, '/big', alice)));
      sockets.push(...stalled);
      assert.ok(await eventually(async () => upstream.stats.bigStarted === started.bigStarted + 3), 'the three requests reached the upstream');
      const freed = await eventually(async () => upstream.stats.bigClosedEarly === started.bigClosedEarly + 3, 8000);
      assert.ok(freed, `the upstream responses were closed early (${upstream.stats.bigClosedEarly - started.bigClosedEarly} of 3 after ${Date.now() - opened} ms)`);
      assert.equal(upstream.stats.bigFinished, started.bigFinished, 'none of them was sent whole');
      assert.ok(Date.now() - opened < 8000);
      // The gateway hung up: reading now gets what was buffered, then the end — short of 32 MB.
      for (const socket of stalled) {
        const { bytes, closed } = await drain(socket, 5000);
        assert.ok(closed, 'the gateway closed the connection');
        assert.ok(bytes < BIG, `${bytes} bytes: the response was cut`);
      }
    });

    test('a client that reads gets all 32 MB (the timeout only drops clients that stop reading)', async () => {
      const finished = upstream.stats.bigFinished;
      const socket = await neverReading(port, '/big', alice);
      sockets.push(socket);
      const { bytes, closed } = await drain(socket, 15_000);
      assert.ok(closed);
      assert.ok(bytes > BIG, `${bytes} bytes (headers and 32 MB)`);
      assert.ok(await eventually(async () => upstream.stats.bigFinished === finished + 1));
    });
  });

  test('130 never-reading sockets of one signed-in user do not starve another client: 127.0.0.2 is answered promptly', async () => {
    const port = Number(new URL(base.url).port);
    const alice = await signIn(base, base.browser());
    const bob = await signIn(base, base.browser(), { username: 'bob' });
    const cap = 64; // the default maxRequestsPerClient
    const started = upstream.stats.bigStarted;
    try {
      for (let i = 0; i < 130; i += 10) {
        sockets.push(...await Promise.all(Array.from({ length: Math.min(10, 130 - i) }, () => neverReading(port, '/big', alice))));
      }
      // Every request of the crowd has been answered by now (served and stalled, or refused).
      await eventually(async () => upstream.stats.bigStarted - started >= Math.min(cap, 128), 5000);
      await sleep(500);
      const other = await exchange(port, '/ok', bob, '127.0.0.2', 5000);
      assert.equal(rawStatus(other.answer), 200, `another client is served (answer after ${other.ms} ms: ${other.answer.slice(0, 60)})`);
      assert.ok(other.ms < 2000, `promptly: ${other.ms} ms`);
      const inFlight = upstream.stats.bigStarted - started;
      assert.ok(inFlight <= cap, `at most ${cap} of the crowd's requests reached the upstream (${inFlight})`);
    } finally {
      await cleanUp();
    }
    assert.equal(upstream.stats.bigStarted, upstream.stats.bigFinished + upstream.stats.bigClosedEarly, 'every upstream response ended once the sockets were gone');
  });
});
