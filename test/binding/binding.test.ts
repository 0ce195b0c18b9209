import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { createLogger } from '../../src/observability/log.js';
import { ipPrefix } from '../../src/session/binding.js';
import { internalsOf } from '../../src/tessera.js';
import { atCallback } from '../security/support.js';
import { Browser } from '../helpers/browser.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { listSessions } from '../sessions/support.js';
import { connectWs, startWsUpstream } from '../websocket/support.js';

const owner = 'Mozilla/5.0 (Owner) Firefox/140.0';
const thief = 'curl/8.9.1';

/** A debug logger whose JSON lines are kept. */
function capturingLogger() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
  const mismatches = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'session binding mismatch');
  return { logger, lines, mismatches };
}

/** Signs alice in from a browser sending `userAgent` (and `forwardedFor` on the callback, as a trusted proxy would). */
async function signIn(stack: Stack, userAgent: string, forwardedFor?: string): Promise<string> {
  const browser = new Browser({ userAgent });
  const atIdp = await browser.signIn(`${stack.url}/auth/login?returnTo=%2Fhome`, { username: 'alice', password: 'alice', stopAt: atCallback });
  assert.ok(atIdp.stopped, 'reached the callback');
  const page = await browser.navigate(atIdp.url, forwardedFor ? { headers: { 'x-forwarded-for': forwardedFor } } : {});
  assert.equal(page.status, 200);
  return `tessera=${browser.jar.get('tessera', stack.url)}`;
}

/** One request with `cookie`: an API call, or a page navigation (undici's request: fetch always says `sec-fetch-mode: cors`). */
async function call(stack: Stack, cookie: string, userAgent: string, kind: 'page' | 'api' = 'api', forwardedFor?: string): Promise<{ status: number; headers: Headers }> {
  const headers: Record<string, string> = { cookie, 'user-agent': userAgent, accept: kind === 'api' ? 'application/json' : 'text/html' };
  if (forwardedFor) headers['x-forwarded-for'] = forwardedFor;
  const response = await request(`${stack.url}/home`, { headers });
  await response.body.text();
  const out = new Headers();
  for (const [name, value] of Object.entries(response.headers)) for (const v of [value].flat()) if (v !== undefined) out.append(name, v);
  return { status: response.statusCode, headers: out };
}

async function mismatchCount(stack: Stack, signal: string, action: string): Promise<number> {
  const text = await stack.tessera.metrics.render();
  const line = text.split('\n').find((l) => l.startsWith(`tessera_session_binding_mismatches_total{signal="${signal}",action="${action}"}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

describe('session binding to the user agent', () => {
  const logs = capturingLogger();
  let stack: Stack;
  before(async () => { stack = await startStack({ logger: logs.logger, options: { sessionBinding: 'log' } }); });
  after(async () => { await stack.close(); });

  test('the store keeps the sign-in user agent for display and only a keyed hash for binding', async () => {
    const cookie = await signIn(stack, owner);
    const stored = await internalsOf(stack.tessera).store.listByUser('alice');
    const record = stored.at(-1)!.record;
    assert.equal(record.userAgent, owner);
    assert.match(record.binding?.userAgent ?? '', /^[A-Za-z0-9_-]{22}$/);
    assert.ok(!JSON.stringify(record.binding).includes('Owner'), 'not the value itself');
    // Keyed with the session id: another session from the same browser has another hash.
    await signIn(stack, owner);
    const again = await internalsOf(stack.tessera).store.listByUser('alice');
    assert.notEqual(again.at(-1)!.record.binding?.userAgent, record.binding?.userAgent);
    assert.equal((await call(stack, cookie, owner)).status, 200);
  });

  test('log: a request from another user agent is served, logged with the session ref and the signal, and counted', async () => {
    const cookie = await signIn(stack, owner);
    const ref = (await listSessions(stack.url, cookie)).sessions.find((s) => s.current)!.ref;
    const before = logs.mismatches().length;
    const counted = await mismatchCount(stack, 'user-agent', 'log');
    assert.equal((await call(stack, cookie, owner)).status, 200);
    assert.equal(logs.mismatches().length, before, 'the same user agent is no mismatch');

    const page = await fetch(`${stack.url}/home`, { headers: { cookie, 'user-agent': thief } });
    assert.equal(page.status, 200, 'still served');
    assert.equal(((await page.json()) as { headers: Record<string, string> }).headers['x-tessera-sub'], 'alice');
    const logged = logs.mismatches().slice(before);
    assert.equal(logged.length, 1);
    assert.equal(logged[0]!.session, ref);
    assert.equal(logged[0]!.signal, 'user-agent');
    assert.equal(logged[0]!.action, 'log');
    assert.equal(logged[0]!.level, 'warn');
    assert.ok(!logs.lines.some((l) => l.includes(cookie.slice('tessera='.length))), 'never the session id');
    assert.equal(await mismatchCount(stack, 'user-agent', 'log'), counted + 1);
    assert.equal((await call(stack, cookie, owner)).status, 200, 'the owner goes on');
  });

  test('revoke: the first request from another user agent ends the session, for the thief and for its owner', async () => {
    await stack.restart({ sessionBinding: 'revoke' });
    try {
      const cookie = await signIn(stack, owner);
      assert.equal((await call(stack, cookie, owner)).status, 200);
      const counted = await mismatchCount(stack, 'user-agent', 'revoke');

      const page = await call(stack, cookie, thief, 'page');
      assert.equal(page.status, 302, 'the page is sent to sign-in as for any dead session');
      assert.match(page.headers.get('location') ?? '', /^\/auth\/login\?returnTo=%2Fhome/);
      assert.match(page.headers.getSetCookie()[0] ?? '', /^tessera=; /, 'the cookie is cleared');
      assert.equal((await call(stack, cookie, thief)).status, 401);
      assert.equal((await call(stack, cookie, owner)).status, 401, 'the owner\'s cookie is dead too');
      assert.equal((await call(stack, cookie, owner, 'page')).status, 302);
      assert.equal(await mismatchCount(stack, 'user-agent', 'revoke'), counted + 1);
      assert.equal(logs.mismatches().at(-1)!.action, 'revoke');
    } finally {
      await stack.restart({ sessionBinding: 'log' });
    }
  });

  test('off: nothing is recorded and nothing compared', async () => {
    await stack.restart({ sessionBinding: 'off' });
    try {
      const cookie = await signIn(stack, owner);
      const record = (await internalsOf(stack.tessera).store.listByUser('alice')).at(-1)!.record;
      assert.equal(record.binding, undefined);
      assert.equal(record.userAgent, owner, 'the user agent is still kept for the list of sessions');
      const before = logs.mismatches().length;
      assert.equal((await call(stack, cookie, thief)).status, 200);
      assert.equal(logs.mismatches().length, before);
    } finally {
      await stack.restart({ sessionBinding: 'log' });
    }
  });
});

describe('session binding to the client\'s IP prefix (TESSERA_TRUSTED_PROXIES)', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ options: { sessionBinding: 'revoke', sessionBindingSignals: ['ip-prefix'], trustedProxies: ['127.0.0.1'] } });
  });
  after(async () => { await stack.close(); });

  test('the same /24 keeps the session, another network ends it; the user agent is not a signal here', async () => {
    const cookie = await signIn(stack, owner, '203.0.113.5');
    assert.equal((await call(stack, cookie, owner, 'api', '203.0.113.5')).status, 200);
    assert.equal((await call(stack, cookie, thief, 'api', '203.0.113.77')).status, 200, 'same /24, other user agent');
    assert.equal((await call(stack, cookie, owner, 'api', '198.51.100.5')).status, 401, 'another network');
    assert.equal((await call(stack, cookie, owner, 'api', '203.0.113.5')).status, 401, 'ended for its owner too');
  });

  test('IPv6 clients are bound to their /64', async () => {
    const cookie = await signIn(stack, owner, '2001:db8:1:2::10');
    assert.equal((await call(stack, cookie, owner, 'api', '2001:db8:1:2:ffff::1')).status, 200);
    assert.equal((await call(stack, cookie, owner, 'api', '2001:db8:1:3::10')).status, 401);
  });

  test('a WebSocket handshake is bound to the same client address as a request: the nearest untrusted hop', async () => {
    const app = await startWsUpstream();
    await stack.restart({ upstream: app.url });
    try {
      const cookie = await signIn(stack, owner, '203.0.113.5');
      const port = Number(new URL(stack.url).port);
      const handshake = (forwardedFor: string) => connectWs(port, '/ws', { cookie, origin: stack.url, 'x-forwarded-for': forwardedFor });
      const same = await handshake('203.0.113.9');
      assert.ok(same.open, `same /24: the socket opens (${same.open ? '' : `${same.status} ${same.body}`})`);
      same.socket.close();
      const other = await handshake('198.51.100.5');
      assert.equal(other.open ? 101 : other.status, 401, 'another network: refused');
      assert.equal((await call(stack, cookie, owner, 'api', '203.0.113.5')).status, 401, 'and the session ended');
    } finally {
      await stack.restart();
      await app.close();
    }
  });

  test('without trusted proxies the client\'s own X-Forwarded-For moves nothing: the socket peer is bound', async () => {
    await stack.restart({ trustedProxies: [] });
    try {
      const cookie = await signIn(stack, owner, '203.0.113.5');
      assert.equal((await call(stack, cookie, owner, 'api', '198.51.100.5')).status, 200, 'a forged header is not the client');
    } finally {
      await stack.restart();
    }
  });
});

test('ipPrefix: /24 for IPv4, /64 for IPv6, IPv4-mapped read as IPv4', () => {
  assert.equal(ipPrefix('203.0.113.77'), '203.0.113');
  assert.equal(ipPrefix('::ffff:198.51.100.7'), '198.51.100');
  assert.equal(ipPrefix('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2');
  assert.equal(ipPrefix('2001:DB8:0001:0002::'), '2001:db8:1:2');
  assert.equal(ipPrefix('2001:db8::1'), '2001:db8:0:0');
  assert.equal(ipPrefix('::1'), '0:0:0:0');
  assert.equal(ipPrefix('fe80::1%eth0'), 'fe80:0:0:0');
  assert.equal(ipPrefix('64:ff9b::192.0.2.33'), '64:ff9b:0:0');
});
