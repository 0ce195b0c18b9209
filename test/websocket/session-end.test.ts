/**
 * Every WebSocket and streaming response of a session ends when the session does — logout,
 * admin revoke, back-channel logout, access-token expiry, and a logout on another instance
 * sharing the Redis store — with `ws` on both ends through the real gateway. The tests print
 * how long each socket took to close after its session ended.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultClient } from '../../src/dev-idp/clients.js';
import { startDevIdp, type DevIdp } from '../../src/dev-idp/index.js';
import { startGateway, type Gateway } from '../../src/gateway/server.js';
import { sessionRefFor } from '../../src/session/ids.js';
import { createTessera, internalsOf } from '../../src/tessera.js';
import { startStack, testLogLevel, type Stack } from '../helpers/stack.js';
import { eventually, sha256, signIn, sleep, startBackchannelRelay } from '../security/support.js';
import { requestWith } from '../instances/support.js';
import { closesWithin, connectWs, echo, openWs, startWsUpstream, type WsUpstream } from './support.js';

const adminToken = 'the-admin-token-of-the-websocket-tests-0123456789';
const port = (stack: Stack) => Number(new URL(stack.url).port);
const wsHeaders = (stack: Stack, id: string) => ({ origin: stack.url, cookie: `tessera=${id}` });

async function logout(stack: Stack, id: string): Promise<void> {
  const response = await fetch(`${stack.url}/auth/logout`, { method: 'POST', headers: { cookie: `tessera=${id}`, origin: stack.url }, redirect: 'manual' });
  await response.body?.cancel();
  assert.ok(response.status < 400, `logout answered ${response.status}`);
}

/** The value of one metric series in the instance's registry (0 when absent). */
async function metric(stack: { tessera: Stack['tessera'] }, line: string): Promise<number> {
  const text = await stack.tessera.metrics.render();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? 0 : Number(found.split(' ').at(-1));
}

describe('WebSockets and streams end with their session', () => {
  let idpDir: string;
  let idp: DevIdp;
  let stack: Stack;
  let upstream: WsUpstream;
  let relay: Awaited<ReturnType<typeof startBackchannelRelay>>;
  const timings: Array<[string, number]> = [];

  before(async () => {
    relay = await startBackchannelRelay();
    upstream = await startWsUpstream();
    idpDir = mkdtempSync(join(tmpdir(), 'tessera-ws-idp-'));
    idp = await startDevIdp({ port: 0, dataDir: idpDir, quiet: true, clients: [{ ...defaultClient, backchannel_logout_uri: relay.url }] });
    stack = await startStack({ idp, options: { backchannelLogout: true, adminToken, upstream: upstream.url } });
    relay.target = `${stack.url}/auth/backchannel-logout`;
  });
  after(async () => {
    await stack.close();
    await idp.close();
    await relay.close();
    await upstream.close();
    rmSync(idpDir, { recursive: true, force: true });
  });

  test('a logout closes the socket within 2 s with 1008 "session ended", on both sides', async () => {
    const id = await signIn(stack, stack.browser());
    const { socket, closed } = await openWs(port(stack), '/ws', wsHeaders(stack, id));
    assert.equal(await echo(socket, 'before'), 'before');
    const appCloses = upstream.closes.length;
    const since = performance.now();
    await logout(stack, id);
    const close = await closesWithin(closed, since, 2000);
    assert.equal(close.code, 1008);
    assert.equal(close.reason, 'session ended');
    assert.ok(await eventually(async () => upstream.closes.length > appCloses, 2000));
    assert.equal(upstream.closes.at(-1), 1008, 'the application is told the same');
    timings.push(['logout', close.afterMs]);
  });

  test('an admin revoke closes the socket within 2 s', async () => {
    const id = await signIn(stack, stack.browser());
    const { closed } = await openWs(port(stack), '/ws', wsHeaders(stack, id));
    const ref = String(upstream.handshakes.at(-1)!['x-tessera-session']);
    const since = performance.now();
    const response = await fetch(`${stack.url}/auth/admin/users/alice/sessions/${ref}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } });
    await response.body?.cancel();
    assert.ok(response.status < 300, `admin revoke answered ${response.status}`);
    const close = await closesWithin(closed, since, 2000);
    assert.equal(close.code, 1008);
    timings.push(['admin revoke', close.afterMs]);
  });

  test('a back-channel logout (Mosaic logout API at the IdP) closes the socket within 2 s', async () => {
    const id = await signIn(stack, stack.browser());
    const tokens = await internalsOf(stack.tessera).sessions.tokensFor(sha256(id));
    const { closed } = await openWs(port(stack), '/ws', wsHeaders(stack, id));
    const answered = relay.statuses.length;
    const since = performance.now();
    const response = await fetch(`${idp.url}/cis/v1/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${tokens!.access_token}` } });
    assert.equal(response.status, 200);
    const close = await closesWithin(closed, since, 4000);
    assert.equal(close.code, 1008);
    const statuses = relay.statuses.slice(answered);
    // The logout API ends every IdP session of the user: one logout token each, all accepted.
    assert.ok(statuses.length >= 1 && statuses.every((status) => status === 200), `the gateway accepted the logout tokens (${statuses})`);
    timings.push(['back-channel logout (from the IdP call)', close.afterMs]);
  });

  test('a Server-Sent Events stream is ended on logout', async () => {
    const id = await signIn(stack, stack.browser());
    const response = await fetch(`${stack.url}/events`, { headers: { cookie: `tessera=${id}`, accept: 'text/event-stream' } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = response.body!.getReader();
    const first = await reader.read();
    assert.match(Buffer.from(first.value!).toString(), /data: \d+/);
    const since = performance.now();
    await logout(stack, id);
    const ended = (async () => {
      for (;;) if ((await reader.read()).done) return performance.now();
    })();
    const at = await Promise.race([ended, sleep(2000).then(() => undefined)]);
    assert.ok(at !== undefined, 'the stream ended within 2 s');
    timings.push(['SSE stream, logout', Math.round(at - since)]);
    const again = await fetch(`${stack.url}/events`, { headers: { cookie: `tessera=${id}`, accept: 'text/event-stream' } });
    await again.body?.cancel();
    assert.equal(again.status, 401, 'the EventSource reconnect is refused');
  });

  test('a long poll not yet answered gets what the request would now get: a page goes to login, an API call 401', async () => {
    const id = await signIn(stack, stack.browser());
    const before = upstream.polls;
    const page = requestWith(`${stack.url}/poll?page`, `tessera=${id}`, 'page');
    const api = requestWith(`${stack.url}/poll?api`, `tessera=${id}`, 'api');
    assert.ok(await eventually(async () => upstream.polls === before + 2), 'both polls reached the upstream');
    await logout(stack, id);
    const [pageAnswer, apiAnswer] = await Promise.all([page, api]);
    assert.equal(pageAnswer.status, 302);
    assert.equal(pageAnswer.headers.location, '/auth/login?returnTo=%2Fpoll%3Fpage&silent=1');
    assert.match(String(pageAnswer.headers['set-cookie']), /^tessera=; /, 'the dead cookie is cleared');
    assert.equal(apiAnswer.status, 401);
    assert.equal((JSON.parse(apiAnswer.text) as { error: string }).error, 'login_required');
  });

  test('many sockets of many sessions: one session revoked closes only its own sockets', async () => {
    const sessions = await Promise.all(['alice', 'bob', 'alice', 'bob'].map((username) => signIn(stack, stack.browser(), { username })));
    const sockets = await Promise.all(sessions.flatMap((id) => [0, 1, 2].map(async () => ({ id, ...(await openWs(port(stack), '/ws', wsHeaders(stack, id))) }))));
    const open = await metric(stack, 'tessera_upgraded_connections');
    assert.ok(open >= sockets.length, `the gauge counts the open sockets (${open})`);
    const revoked = sessions[2]!;
    const since = performance.now();
    // By the admin API: a logout would also end the user's IdP sessions, and so (back-channel) alice's other session.
    const response = await fetch(`${stack.url}/auth/admin/users/alice/sessions/${sessionRefFor(sha256(revoked))}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } });
    await response.body?.cancel();
    assert.ok(response.status < 300);
    for (const s of sockets.filter((s) => s.id === revoked)) assert.equal((await closesWithin(s.closed, since, 2000)).code, 1008);
    await sleep(500);
    for (const s of sockets.filter((s) => s.id !== revoked)) {
      assert.equal(s.socket.readyState, s.socket.OPEN, 'the other sessions keep their sockets');
      assert.equal(await echo(s.socket, 'still here'), 'still here');
      s.socket.close();
    }
    assert.ok(await metric(stack, 'tessera_connections_closed_by_session_end_total{kind="websocket",reason="revoked"}') >= 3);
    assert.ok(await metric(stack, 'tessera_connections_closed_by_session_end_total{kind="http",reason="revoked"}') >= 1, 'the SSE stream was counted');
  });

  test('the cookie of an ended session opens no socket', async () => {
    const id = await signIn(stack, stack.browser());
    await logout(stack, id);
    const again = await connectWs(port(stack), '/ws', wsHeaders(stack, id));
    assert.equal(again.open, false);
  });

  // The closing note: how fast sockets closed after each kind of session end (printed, never asserted).
  test('close times are reported', (t) => {
    for (const [kind, ms] of timings) t.diagnostic(`socket closed ${ms} ms after ${kind}`);
  });
});

describe('a socket is closed at access-token expiry', () => {
  let stack: Stack;
  let upstream: WsUpstream;
  before(async () => {
    upstream = await startWsUpstream();
    stack = await startStack({ accessTokenTtl: 4, options: { upstream: upstream.url, silentAuth: false } as never });
  });
  after(async () => {
    await stack.close();
    await upstream.close();
  });

  test('a socket open at access-token expiry is closed with 1008 within 2 s of it', async (t) => {
    const id = await signIn(stack, stack.browser());
    const session = await fetch(`${stack.url}/auth/session`, { headers: { cookie: `tessera=${id}`, accept: 'application/json' } });
    const expiresAt = Date.parse(((await session.json()) as { accessTokenExpiresAt: string }).accessTokenExpiresAt);
    const { closed, socket } = await openWs(port(stack), '/ws', wsHeaders(stack, id));
    assert.equal(await echo(socket, 'live'), 'live');
    const close = await closesWithin(closed, 0, expiresAt - Date.now() + 2000);
    const closedAt = Date.now() - (performance.now() - close.at);
    assert.equal(close.code, 1008);
    assert.ok(closedAt >= expiresAt - 50, `not before the expiry (${closedAt - expiresAt} ms)`);
    t.diagnostic(`socket closed ${Math.round(closedAt - expiresAt)} ms after access-token expiry`);
    assert.ok(await metric(stack, 'tessera_connections_closed_by_session_end_total{kind="websocket",reason="access_token_expired"}') >= 1);
  });
});

describe('two gateway instances on one Redis', () => {
  let stack: Stack;
  let upstream: WsUpstream;
  let b: Gateway;
  const store = `redis://127.0.0.1:6379/?prefix=tessera-ws-${randomUUID()}:`;
  before(async () => {
    upstream = await startWsUpstream();
    stack = await startStack({ options: { upstream: upstream.url, store } });
    const tessera = createTessera({
      publicUrl: stack.url, issuer: stack.idp.issuer, discoveryUrl: stack.idp.discoveryUrl, clientId: 'tessera-dev',
      clientSecret: 'tessera-dev-secret', keys: stack.keys, store, logLevel: testLogLevel(),
    });
    b = await startGateway(tessera, { upstream: upstream.url, port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await b.close();
    await stack.close();
    await upstream.close();
  });

  test('a logout on instance A closes a socket held on instance B within 2 s', async (t) => {
    const id = await signIn(stack, stack.browser());
    const { socket, closed } = await openWs(Number(new URL(b.url).port), '/ws', wsHeaders(stack, id));
    assert.equal(await echo(socket, 'on B'), 'on B');
    const since = performance.now();
    await logout(stack, id);
    const close = await closesWithin(closed, since, 2000);
    assert.equal(close.code, 1008);
    assert.equal(close.reason, 'session ended');
    t.diagnostic(`socket on B closed ${close.afterMs} ms after the logout on A`);
  });
});

describe('sockets end at the idle and absolute timeouts', () => {
  let stack: Stack;
  let upstream: WsUpstream;
  before(async () => {
    upstream = await startWsUpstream();
    stack = await startStack({ options: { upstream: upstream.url, idleTimeout: '3s', absoluteTimeout: '6s' } as never });
  });
  after(async () => {
    await stack.close();
    await upstream.close();
  });

  test('a request keeps the session (and its socket) alive past the first idle deadline; without one the socket closes at the idle timeout', async (t) => {
    const id = await signIn(stack, stack.browser());
    const { closed } = await openWs(port(stack), '/ws', wsHeaders(stack, id));
    const opened = performance.now();
    await sleep(1500);
    const touch = await fetch(`${stack.url}/api/x`, { headers: { cookie: `tessera=${id}`, accept: 'application/json' } });
    await touch.body?.cancel();
    assert.equal(touch.status, 200);
    const touchedAt = performance.now();
    const early = await Promise.race([closed.then(() => 'closed'), sleep(3000 - (performance.now() - opened) + 500).then(() => 'open')]);
    assert.equal(early, 'open', 'the idle deadline moved with the request');
    const close = await closesWithin(closed, touchedAt, 3000 + 2000);
    assert.equal(close.code, 1008);
    t.diagnostic(`socket closed ${close.afterMs - 3000} ms after the idle timeout`);
    assert.ok(await metric(stack, 'tessera_connections_closed_by_session_end_total{kind="websocket",reason="idle_timeout"}') >= 1);
  });

  test('a socket kept busy by requests still closes at the absolute timeout', async (t) => {
    const id = await signIn(stack, stack.browser());
    const signedInAt = performance.now();
    const { closed } = await openWs(port(stack), '/ws', wsHeaders(stack, id));
    let busy = true;
    void (async () => {
      while (busy) {
        const response = await fetch(`${stack.url}/api/x`, { headers: { cookie: `tessera=${id}`, accept: 'application/json' } }).catch(() => undefined);
        await response?.body?.cancel();
        await sleep(500);
      }
    })();
    try {
      const close = await closesWithin(closed, signedInAt, 6000 + 2000);
      assert.equal(close.code, 1008);
      t.diagnostic(`socket closed ${close.afterMs - 6000} ms after the absolute timeout (measured from the end of sign-in)`);
      assert.ok(await metric(stack, 'tessera_connections_closed_by_session_end_total{kind="websocket",reason="absolute_timeout"}') >= 1);
    } finally {
      busy = false;
    }
  });
});
