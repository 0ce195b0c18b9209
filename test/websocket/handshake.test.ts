/**
 * WebSocket handshakes through the gateway, with `ws` on both ends: decided as any request
 * (session, route rules), `Origin` exactly the public origin, identity headers set and Tessera's
 * cookie stripped as for HTTP, and bytes relayed both ways.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { rawExchange, rawStatus, useSignedInStack } from '../security/support.js';
import { connectWs, echo, openWs, startWsUpstream } from './support.js';

describe('WebSocket handshakes', () => {
  const fixture = useSignedInStack({
    upstream: startWsUpstream,
    stack: { options: { routes: [{ path: '/public', auth: 'none' }, { path: '/maybe', auth: 'optional' }, { path: '/down', upstream: 'http://127.0.0.1:9' }] } as never },
  });
  const cookie = () => `tessera=${fixture.id}`;
  const origin = () => fixture.stack.url;

  test('an anonymous upgrade is refused with 401 and no 101', async () => {
    const answer = await connectWs(fixture.port, '/ws', { origin: origin() });
    assert.equal(answer.open, false);
    assert.equal(!answer.open && answer.status, 401);
    assert.match(!answer.open ? answer.body : '', /login_required/);
    const dead = await connectWs(fixture.port, '/ws', { origin: origin(), cookie: `tessera=${'A'.repeat(43)}` });
    assert.equal(!dead.open && dead.status, 401, 'an unknown session cookie is refused too');
  });

  test('a foreign Origin is refused with 403 (cross-site WebSocket hijacking)', async () => {
    const before = fixture.upstream.handshakes.length;
    for (const foreign of ['https://evil.example', 'null', `${origin()}.evil.example`]) {
      const answer = await connectWs(fixture.port, '/ws', { origin: foreign, cookie: cookie() });
      assert.equal(!answer.open && answer.status, 403, foreign);
    }
    assert.equal(fixture.upstream.handshakes.length, before, 'nothing reached the application');
  });

  test('an authenticated echo works; the upstream sees the identity headers and not the session cookie', async () => {
    const { socket } = await openWs(fixture.port, '/ws?room=1', {
      origin: origin(),
      cookie: `${cookie()}; app=kept`,
      'x-tessera-sub': 'mallory',
      'x-tessera-roles': 'admin',
    });
    assert.equal(await echo(socket, 'hello'), 'hello');
    const big = 'x'.repeat(300_000);
    assert.equal(await echo(socket, big), big, 'a large message crosses both ways');
    const seen = fixture.upstream.handshakes.at(-1)!;
    assert.equal(seen['x-tessera-sub'], 'alice');
    assert.equal(seen['x-tessera-roles'], 'admin,user');
    assert.ok(String(seen['x-tessera-session']).length > 0);
    assert.equal(seen.cookie, 'app=kept', 'the session cookie never reaches the application');
    assert.ok(!JSON.stringify(seen).includes(fixture.id), 'the session id appears nowhere upstream');
    assert.equal(seen['x-forwarded-host'], new URL(origin()).host);
    socket.close();
  });

  test('a handshake without Origin (not a browser) is decided by the session alone', async () => {
    const { socket } = await openWs(fixture.port, '/ws', { cookie: cookie() });
    assert.equal(await echo(socket, 'no origin'), 'no origin');
    socket.close();
  });

  test('auth "none" routes relay without a check; optional routes relay anonymously', async () => {
    const open = await openWs(fixture.port, '/public/ws', { origin: 'https://anyone.example' });
    assert.equal(await echo(open.socket, 'public'), 'public');
    assert.equal(fixture.upstream.handshakes.at(-1)!['x-tessera-sub'], undefined);
    open.socket.close();
    const maybe = await openWs(fixture.port, '/maybe/ws', { origin: origin() });
    assert.equal(fixture.upstream.handshakes.at(-1)!['x-tessera-sub'], undefined);
    maybe.socket.close();
    const signedIn = await openWs(fixture.port, '/maybe/ws', { origin: origin(), cookie: cookie() });
    assert.equal(fixture.upstream.handshakes.at(-1)!['x-tessera-sub'], 'alice');
    signedIn.socket.close();
  });

  test('an application that does not answer gives 502, never a hang or a crash', async () => {
    const answer = await connectWs(fixture.port, '/down/ws', { origin: origin(), cookie: cookie() });
    assert.equal(!answer.open && answer.status, 502);
    const { socket } = await openWs(fixture.port, '/ws', { origin: origin(), cookie: cookie() });
    assert.equal(await echo(socket, 'gateway still fine'), 'gateway still fine');
    socket.close();
  });

  test('an upgrade to anything but websocket is refused with 400', async () => {
    for (const protocol of ['h2c', 'WebSocket2', 'tls/1.0']) {
      const answer = await rawExchange(fixture.port, `GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: ${protocol}\r\nCookie: ${cookie()}\r\n\r\n`);
      assert.equal(rawStatus(answer), 400, protocol);
    }
    const post = await rawExchange(fixture.port, `POST /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 0\r\n\r\n`);
    assert.equal(rawStatus(post), 400, 'a handshake is a GET');
    const auth = await rawExchange(fixture.port, `GET /auth/session HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`);
    assert.equal(rawStatus(auth), 404, '/auth/* is not a WebSocket endpoint');
    const traversal = await rawExchange(fixture.port, `GET /public/..%2fws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`);
    assert.equal(rawStatus(traversal), 400, 'an encoded slash is refused before any relay');
  });

  test('mutated Origin headers are refused unless exactly the public origin (fast-check)', async () => {
    const publicOrigin = origin();
    const { port: publicPort } = new URL(publicOrigin);
    const mutation = fc.oneof(
      fc.constant(publicOrigin.toUpperCase()),
      fc.constant(publicOrigin.replace('http://', 'HTTP://')),
      fc.constant(publicOrigin.replace('localhost', 'LocalHost')),
      fc.constant(publicOrigin.replace('localhost', 'localhost.')),
      fc.constant(`${publicOrigin}/`),
      fc.constant(`${publicOrigin}.`),
      fc.constant(publicOrigin.replace('http://', 'https://')),
      fc.constant(publicOrigin.replace('http://', 'ws://')),
      fc.constant(publicOrigin.replace('http://', 'http://user@')),
      fc.constant(publicOrigin.replace('http://', 'http://localhost@')),
      fc.constant('null'),
      fc.constant(''),
      fc.constant(' '),
      fc.constant(publicOrigin.replace('localhost', '127.0.0.1')),
      fc.integer({ min: 1, max: 65535 }).filter((p) => String(p) !== publicPort).map((p) => publicOrigin.replace(/:\d+$/, `:${p}`)),
      fc.constant(publicOrigin.replace(/:\d+$/, '')),
      fc.constant(publicOrigin.replace(/:(\d+)$/, ':0$1')),
      fc.webUrl().map((url) => new URL(url).origin),
      fc.string({ minLength: 1, maxLength: 3 }).map((s) => `${publicOrigin}${s}`),
      fc.string({ minLength: 1, maxLength: 3 }).map((s) => `${s}${publicOrigin}`),
    );
    await fc.assert(
      fc.asyncProperty(mutation, async (mutated) => {
        // Whitespace around a header value is not part of it (RFC 9110 §5.5): `Origin: <public> ` is the public origin.
        fc.pre(mutated.trim() !== publicOrigin && /^[\t\x20-\x7e]*$/.test(mutated));
        const answer = await rawExchange(fixture.port, handshake(mutated, cookie()), 3000);
        assert.equal(rawStatus(answer), 403, `Origin ${JSON.stringify(mutated)}`);
      }),
      { numRuns: 60 },
    );
    // Two Origin headers, one of them right, are refused as well.
    const twice = await rawExchange(fixture.port, handshake(publicOrigin, cookie(), `Origin: https://evil.example\r\n`), 3000);
    assert.equal(rawStatus(twice), 403);
    // And the public origin itself is let through.
    assert.equal(rawStatus(await rawExchange(fixture.port, handshake(publicOrigin, cookie()), 1000)), 101);
  });
});

function handshake(origin: string, cookie: string, extra = ''): string {
  return `GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n`
    + `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: ${origin}\r\n${extra}Cookie: ${cookie}\r\n\r\n`;
}
