/**
 * SECURITY.md, "Gateway": identity headers, the one upstream, request size and header limits,
 * and the admin API. (Stripping of client X-Tessera-* headers on an authenticated request with
 * fetch is in test/lifecycle/login.test.ts.)
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Gateway } from '../../src/gateway/server.js';
import { createTessera } from '../../src/tessera.js';
import { closeServer, listen, startStack, type Stack } from '../helpers/stack.js';
import { minimalOptions, rawExchange, rawStatus, sessionStatus, sha256, startGatewayBeside, startSignedInStack, upstreamRef } from './support.js';

const adminToken = 'the-admin-token-of-the-gateway-tests-0123456789';
const MB = 1024 * 1024;

describe('gateway', () => {
  let stack: Stack;
  let port: number;
  let evil: Server;
  let evilPort: number;
  let evilRequests = 0;
  let id: string;

  before(async () => {
    ({ stack, port, id } = await startSignedInStack({ options: { adminToken } }));
    evil = createServer((req, res) => {
      evilRequests += 1;
      req.resume();
      res.end('evil');
    });
    evil.on('connect', (_req, socket) => {
      evilRequests += 1;
      socket.destroy();
    });
    evilPort = Number(new URL(await listen(evil, 0)).port);
  });
  after(async () => {
    await closeServer(evil);
    await stack.close();
  });

  const lastUpstream = () => stack.upstream.requests.at(-1)!;

  describe('client-supplied X-Tessera-* headers stripped', () => {
    test('an anonymous request carrying identity headers is not let through', async () => {
      const seen = stack.upstream.requests.length;
      const response = await fetch(`${stack.url}/admin`, {
        headers: { accept: 'application/json', 'x-tessera-sub': 'alice', 'x-tessera-roles': 'admin', 'x-tessera-session': 'x'.repeat(22) },
      });
      assert.equal(response.status, 401);
      assert.equal(stack.upstream.requests.length, seen);
    });

    test('repeated and oddly cased X-Tessera-* lines of a raw request never reach the upstream', async () => {
      const answer = await rawExchange(port, [
        'GET /whoami HTTP/1.1', `Host: localhost:${port}`, `Cookie: tessera=${id}`,
        'X-Tessera-Sub: mallory', 'x-tessera-sub: mallory2', 'X-TESSERA-ROLES: admin,root', 'X-Tessera-Tid: other-tenant',
        'X-Tessera-Session: forged', 'X-Tessera-Anything: 1', 'Connection: close', '', '',
      ].join('\r\n'));
      assert.equal(rawStatus(answer), 200);
      const headers = lastUpstream().headers;
      assert.equal(headers['x-tessera-sub'], 'alice');
      assert.equal(headers['x-tessera-roles'], 'admin,user');
      assert.notEqual(headers['x-tessera-tid'], 'other-tenant');
      assert.notEqual(headers['x-tessera-session'], 'forged');
      assert.equal(headers['x-tessera-anything'], undefined);
      assert.ok(!JSON.stringify(headers).includes('mallory'));
    });

    test('the X-Tessera-Session reference sent upstream is neither the cookie nor the store key', async () => {
      const browser = stack.browser();
      const page = await stack.login(browser);
      const ref = upstreamRef(page);
      const headers: IncomingHttpHeaders = lastUpstream().headers;
      const cookie = stack.sessionCookie(browser)!;
      assert.match(ref, /^[A-Za-z0-9_-]{22}$/);
      assert.ok(!cookie.includes(ref) && !sha256(cookie).includes(ref));
      assert.ok(!JSON.stringify(headers).includes(cookie), 'the cookie is not passed upstream');
    });
  });

  describe('proxy forwards only to the configured upstream', () => {
    const attempts = () => [
      ['absolute-form target', `GET http://127.0.0.1:${evilPort}/steal HTTP/1.1\r\nHost: 127.0.0.1:${evilPort}`],
      ['absolute-form target with the gateway as Host', `GET http://127.0.0.1:${evilPort}/steal HTTP/1.1\r\nHost: localhost:${port}`],
      ['absolute-form https target', `GET https://evil.example/steal HTTP/1.1\r\nHost: evil.example`],
      ['scheme-relative path', `GET //127.0.0.1:${evilPort}/steal HTTP/1.1\r\nHost: localhost:${port}`],
      ['Host header of another server', `GET /steal HTTP/1.1\r\nHost: 127.0.0.1:${evilPort}`],
      ['userinfo-looking path', `GET @127.0.0.1:${evilPort}/steal HTTP/1.1\r\nHost: localhost:${port}`],
      ['CONNECT tunnel', `CONNECT 127.0.0.1:${evilPort} HTTP/1.1\r\nHost: 127.0.0.1:${evilPort}`],
      ['OPTIONS *', `OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1:${evilPort}`],
    ] as const;

    test('no request target, Host header or method makes the gateway talk to another host', async () => {
      for (const [name, start] of attempts()) {
        const before = evilRequests;
        const answer = await rawExchange(port, `${start}\r\nCookie: tessera=${id}\r\nConnection: close\r\n\r\n`, 1500);
        const status = rawStatus(answer);
        assert.equal(evilRequests, before, `${name} reached another host`);
        assert.ok(status === 0 || status < 500 || status === 502, `${name}: ${status}`);
        assert.ok(!answer.includes('evil\r\n') && !answer.endsWith('evil'), `${name} returned the other host's answer`);
      }
    });

    test('an absolute-form request target is refused with 400; what reaches the upstream is a plain path', async () => {
      const seen = stack.upstream.requests.length;
      const answer = await rawExchange(port, `GET http://127.0.0.1:${evilPort}/steal HTTP/1.1\r\nHost: 127.0.0.1:${evilPort}\r\nCookie: tessera=${id}\r\nConnection: close\r\n\r\n`, 1500);
      assert.equal(rawStatus(answer), 400);
      for (const request of stack.upstream.requests.slice(seen)) {
        assert.ok(request.url.startsWith('/'), request.url);
        assert.ok(!request.url.startsWith('//'), request.url);
      }
    });
  });

  describe('request size and header limits', () => {
    let gateway: Gateway;
    let gatewayPort: number;
    before(async () => {
      gateway = await startGatewayBeside(stack);
      gatewayPort = Number(new URL(gateway.url).port);
    });
    after(async () => { await gateway.close(); });

    test('a declared body over 10 MB is refused with 413 before anything else', async () => {
      for (const cookie of ['', `Cookie: tessera=${id}\r\n`]) {
        const seen = stack.upstream.requests.length;
        const answer = await rawExchange(port, `POST /upload HTTP/1.1\r\nHost: localhost\r\n${cookie}Content-Type: application/octet-stream\r\nContent-Length: ${10 * MB + 1}\r\n\r\n`);
        assert.equal(rawStatus(answer), 413);
        assert.equal(stack.upstream.requests.length, seen);
      }
    });

    test('a chunked body over 10 MB does not reach the upstream whole', async () => {
      const seen = stack.upstream.requests.length;
      const chunk = Buffer.alloc(MB, 'a');
      const parts: Buffer[] = [Buffer.from(`POST /upload HTTP/1.1\r\nHost: localhost\r\nCookie: tessera=${id}\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`)];
      for (let i = 0; i < 11; i++) parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'));
      parts.push(Buffer.from('0\r\n\r\n'));
      const answer = await rawExchange(port, Buffer.concat(parts), 5000);
      const status = rawStatus(answer);
      assert.equal(status, 413);
      for (const request of stack.upstream.requests.slice(seen)) assert.ok(request.body.length <= 10 * MB, `${request.body.length} bytes reached the upstream`);
    });

    test('large bodies to the /auth routes are refused with a clear answer, one after another', async () => {
      // Each refused body is left unread; the connection must not be reused for the next request.
      for (let i = 0; i < 4; i++) {
        const response = await fetch(`${stack.url}/auth/logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `tessera=${id}` }, body: `csrf=${'a'.repeat(MB)}` });
        assert.equal(response.status, 403, `request ${i + 1}`);
        await response.body?.cancel();
      }
      assert.equal(await sessionStatus(stack, `tessera=${id}`), 200);
    });

    test('request headers over 16 KB are refused with 431', async () => {
      const big = await rawExchange(gatewayPort, `GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\nConnection: close\r\n\r\n`);
      assert.equal(rawStatus(big), 431);
      const many = Array.from({ length: 400 }, (_, i) => `X-H${i}: ${'b'.repeat(40)}`).join('\r\n');
      assert.equal(rawStatus(await rawExchange(gatewayPort, `GET / HTTP/1.1\r\nHost: localhost\r\n${many}\r\nConnection: close\r\n\r\n`)), 431);
      const fine = await rawExchange(gatewayPort, `GET / HTTP/1.1\r\nHost: localhost\r\nX-Fine: ${'a'.repeat(8 * 1024)}\r\nConnection: close\r\n\r\n`);
      assert.equal(rawStatus(fine), 302, 'headers under the limit are served');
    });

    test('the gateway server refuses a declared body over 10 MB with 413', async () => {
      const answer = await rawExchange(gatewayPort, `PUT /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${11 * MB}\r\n\r\n`);
      assert.equal(rawStatus(answer), 413);
    });
  });

  describe('admin API only with the admin token, never through the cookie alone', () => {
    const adminUrl = () => `${stack.url}/auth/admin/users/alice/sessions`;

    test('the right token lists sessions by reference, without ids or store keys', async () => {
      const response = await fetch(adminUrl(), { headers: { authorization: `Bearer ${adminToken}` } });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      const text = await response.text();
      const { sessions } = JSON.parse(text) as { sessions: Array<{ ref: string; sub: string }> };
      assert.ok(sessions.length > 0);
      for (const s of sessions) assert.match(s.ref, /^[A-Za-z0-9_-]{22}$/);
      assert.ok(!text.includes(id) && !text.includes(sha256(id)));
    });

    test('a session cookie alone, even of an admin user, is refused with 401', async () => {
      for (const method of ['GET', 'DELETE']) {
        const response = await fetch(adminUrl(), { method, headers: { cookie: `tessera=${id}` } });
        assert.equal(response.status, 401, method);
      }
      assert.equal(await sessionStatus(stack, `tessera=${id}`), 200);
    });

    test('a wrong, truncated, extended or differently sent token is refused with 401', async () => {
      const wrong: Array<[string, Record<string, string>, string]> = [
        ['wrong token, same length', { authorization: `Bearer ${'x'.repeat(adminToken.length)}` }, ''],
        ['truncated token', { authorization: `Bearer ${adminToken.slice(0, -1)}` }, ''],
        ['extended token', { authorization: `Bearer ${adminToken}x` }, ''],
        ['lowercase scheme with a space', { authorization: `Bearer  ${adminToken}` }, ''],
        ['Basic scheme', { authorization: `Basic ${adminToken}` }, ''],
        ['token without scheme', { authorization: adminToken }, ''],
        ['token in a custom header', { 'x-admin-token': adminToken }, ''],
        ['token in the query', {}, `?token=${adminToken}&access_token=${adminToken}`],
        ['session id as token', { authorization: `Bearer ${id}` }, ''],
        ['empty bearer', { authorization: 'Bearer ' }, ''],
      ];
      for (const [name, headers, query] of wrong) {
        for (const method of ['GET', 'DELETE']) {
          const response = await fetch(`${adminUrl()}${query}`, { method, headers });
          assert.equal(response.status, 401, `${name} ${method}`);
        }
      }
      assert.equal(await sessionStatus(stack, `tessera=${id}`), 200, 'nothing was revoked');
    });

    test('without a configured admin token the admin API does not exist (404)', async () => {
      const plain = await startStack({ idp: stack.idp });
      try {
        for (const authorization of [undefined, `Bearer ${adminToken}`, 'Bearer ']) {
          const response = await fetch(`${plain.url}/auth/admin/users/alice/sessions`, { headers: authorization ? { authorization } : {} });
          assert.equal(response.status, 404);
        }
      } finally {
        await plain.close();
      }
    });

    test('an admin token shorter than 32 characters is refused at start', () => {
      assert.throws(() => createTessera({ ...minimalOptions, adminToken: 'short' }), /adminToken|TESSERA_ADMIN_TOKEN/);
    });
  });
});
