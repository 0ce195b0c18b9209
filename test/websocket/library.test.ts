/**
 * `tessera.onSessionEnd` for framework users: the README's `ws` example, run as written against
 * the real stack, closes the application's own socket when the session ends.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import type { Tessera } from '../../src/tessera.js';
import { closeServer, listen } from '../helpers/stack.js';
import { signIn, useSignedInStack } from '../security/support.js';
import { closesWithin, connectWs, echo, openWs } from './support.js';

/** The README example: a `ws` server of the application's own, its sockets closed with their session. */
function attachSocketServer(server: Server, tessera: Tessera): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true });
  const publicOrigin = new URL(tessera.publicUrl).origin;
  server.on('upgrade', async (req, socket, head) => {
    const result = await tessera.authenticate(req.headers.cookie);
    const origin = req.headers.origin;
    if (!result.authenticated || (origin !== undefined && origin !== publicOrigin)) {
      socket.end(`HTTP/1.1 ${result.authenticated ? 403 : 401} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const stop = tessera.onSessionEnd(result.session, () => ws.close(1008, 'session ended'));
      ws.on('close', stop);
      ws.on('message', (data) => ws.send(`${result.session.sub}: ${data}`));
    });
  });
  return wss;
}

describe('tessera.onSessionEnd', () => {
  const fixture = useSignedInStack();

  test("the README's ws example closes the application's socket when the session ends", async () => {
    const server = createServer();
    const wss = attachSocketServer(server, fixture.stack.tessera);
    const port = Number(new URL(await listen(server, 0)).port);
    try {
      const refused = await connectWs(port, '/', { origin: fixture.stack.url });
      assert.equal(!refused.open && refused.status, 401);
      const id = await signIn(fixture.stack, fixture.stack.browser());
      const { socket, closed } = await openWs(port, '/', { origin: fixture.stack.url, cookie: `tessera=${id}` });
      assert.equal(await echo(socket, 'hi'), 'alice: hi');
      const since = performance.now();
      const response = await fetch(`${fixture.stack.url}/auth/logout`, { method: 'POST', headers: { cookie: `tessera=${id}`, origin: fixture.stack.url }, redirect: 'manual' });
      await response.body?.cancel();
      const close = await closesWithin(closed, since, 2000);
      assert.deepEqual([close.code, close.reason], [1008, 'session ended']);
    } finally {
      wss.close();
      await closeServer(server);
    }
  });

  test('the listener is called once, not after unsubscribing, and only for sessions authenticate returned', async () => {
    const tessera = fixture.stack.tessera;
    const one = await signIn(fixture.stack, fixture.stack.browser());
    const two = await signIn(fixture.stack, fixture.stack.browser());
    const a = await tessera.authenticate(`tessera=${one}`);
    const b = await tessera.authenticate(`tessera=${two}`);
    assert.ok(a.authenticated && b.authenticated);
    const ends: string[] = [];
    tessera.onSessionEnd(a.session, (end) => ends.push(`a:${end.reason}`));
    const stop = tessera.onSessionEnd(b.session, (end) => ends.push(`b:${end.reason}`));
    stop();
    assert.equal(await tessera.sessions.revoke('alice', a.session.ref), true);
    assert.equal(await tessera.sessions.revoke('alice', b.session.ref), true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(ends, ['a:revoked']);
    // A session that has already ended is told at once.
    const late: string[] = [];
    tessera.onSessionEnd(a.session, (end) => late.push(end.reason));
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(late, ['revoked']);
    assert.throws(() => tessera.onSessionEnd({ ...a.session }, () => undefined), TypeError);
  });
});
