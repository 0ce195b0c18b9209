/**
 * What Tessera logs, read as an operator would: every line of a full flow through a real gateway
 * and the dev IdP at `debug`, captured from a pino logger passed in. No line may show a session
 * cookie, a store key, a token, the client secret, a sealing key, the admin token or a login's
 * state; and a logger passed in is the one Tessera logs through, with pino's `(fields, msg)`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { pino } from 'pino';
import { startDevIdp, type DevIdp } from '../../src/dev-idp/index.js';
import { generateKeyEntry } from '../../src/keys/index.js';
import { createLogger, type LogFields, type Logger } from '../../src/observability/log.js';
import { memoryStore } from '../../src/stores/index.js';
import { createTessera, internalsOf } from '../../src/tessera.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { loginUntilCallback, sha256, signIn } from '../security/support.js';

// Loggers from the field fit the type as they are (checked by the compiler).
const fromPino: Logger = pino({ level: 'silent' });
const fromFastify: Logger = Fastify({ logger: false }).log;
void [fromPino, fromFastify];

const adminToken = 'observability-admin-token-0123456789abcdef';

/** A pino logger at debug whose JSON lines are kept. */
function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ level: 'debug', destination: { write: (line) => void lines.push(line) } }), lines };
}

/** A logger that is not pino: records the calls as made. */
function recordingLogger(): Logger & { calls: Array<[string, LogFields, string]> } {
  const calls: Array<[string, LogFields, string]> = [];
  const logger = {
    calls,
    debug: (fields: LogFields, msg: string) => void calls.push(['debug', fields, msg]),
    info: (fields: LogFields, msg: string) => void calls.push(['info', fields, msg]),
    warn: (fields: LogFields, msg: string) => void calls.push(['warn', fields, msg]),
    error: (fields: LogFields, msg: string) => void calls.push(['error', fields, msg]),
    child: () => logger,
  };
  return logger;
}

describe('the log of a full flow at debug', () => {
  const { logger, lines } = capturingLogger();
  const secrets = new Map<string, string>();
  let stack: Stack;
  let idp: DevIdp;
  let idpDir: string;

  before(async () => {
    idpDir = mkdtempSync(join(tmpdir(), 'tessera-logs-'));
    idp = await startDevIdp({ port: 0, dataDir: idpDir, quiet: true, accessTokenTtl: 2, logger: logger.child({ component: 'dev-idp' }) });
    stack = await startStack({
      idp,
      logger,
      options: { scopes: 'openid offline_access', endSession: true, backchannelLogout: true, adminToken },
    });
    secrets.set('client secret', 'tessera-dev-secret');
    secrets.set('admin token', adminToken);
    secrets.set('sealing key', stack.keys.split(':')[1]!);
    secrets.set('sealing key entry', stack.keys);

    const keep = async (label: string, id: string) => {
      secrets.set(`${label} session cookie`, id);
      secrets.set(`${label} store key`, sha256(id));
      const result = await stack.tessera.authenticate(`tessera=${id}`);
      assert.ok(result.authenticated, `the ${label} session is live`);
      const tokens = await stack.tessera.tokens(result.session);
      assert.ok(tokens?.access_token && tokens.id_token && tokens.refresh_token, `the ${label} session holds all three tokens`);
      secrets.set(`${label} access token`, tokens.access_token);
      secrets.set(`${label} ID token`, tokens.id_token);
      secrets.set(`${label} refresh token`, tokens.refresh_token);
    };

    // Sign in, use the session (proxied, /auth/session, the admin API).
    const browser = stack.browser();
    await keep('first', await signIn(stack, browser));
    assert.equal((await browser.request(`${stack.url}/hello`)).status, 200);
    assert.equal((await browser.request(`${stack.url}/auth/session`, { headers: { accept: 'application/json' } })).status, 200);
    const listed = await fetch(`${stack.url}/auth/admin/users/alice/sessions`, { headers: { authorization: `Bearer ${adminToken}` } });
    assert.equal(listed.status, 200);
    const wrongAdmin = await fetch(`${stack.url}/auth/admin/users/alice/sessions`, { headers: { authorization: `Bearer ${adminToken.slice(0, -1)}x` } });
    assert.equal(wrongAdmin.status, 401);

    // Failed callbacks: a real one with its code changed, the same one again, a forged one.
    const other = stack.browser();
    const callback = await loginUntilCallback(stack, other);
    const state = callback.searchParams.get('state')!;
    secrets.set('transaction state', state);
    secrets.set('authorization code', callback.searchParams.get('code')!);
    for (const pair of other.jar.header(callback.href).split('; ')) {
      const [name = '', value = ''] = pair.split('=');
      if (name.startsWith('tessera-txn-')) secrets.set(`transaction cookie ${name}`, value);
    }
    const tampered = new URL(callback);
    tampered.searchParams.set('code', `${callback.searchParams.get('code')!.slice(0, -2)}xx`);
    assert.equal((await other.request(tampered.href)).status, 400);
    assert.equal((await other.request(callback.href)).status, 400, 'the first callback cleared the transaction');
    assert.equal((await other.request(`${stack.url}/auth/callback?code=forged&state=${'s'.repeat(43)}`)).status, 400);

    // Silent renewal once the access token expired, then a cross-origin and a real logout.
    await sleep(2100);
    const expired = await browser.request(`${stack.url}/later`);
    assert.equal(expired.status, 302);
    const renewed = await browser.navigate(`${stack.url}${expired.headers.get('location')!}`);
    assert.equal(renewed.status, 200);
    await keep('renewed', stack.sessionCookie(browser)!);
    assert.equal((await browser.request(`${stack.url}/auth/logout`, { method: 'POST', headers: { origin: 'https://evil.example' } })).status, 403);
    await browser.request(`${stack.url}/auth/backchannel-logout`, { method: 'POST', form: { logout_token: 'a.b.c' } });
    const logout = await browser.request(`${stack.url}/auth/logout`, { method: 'POST', headers: { origin: stack.url } });
    assert.equal(logout.status, 303);
    // Where sign-out sends the browser carries the ID token as a hint: the browser's, never the log's.
    const endSession = logout.headers.get('location') ?? '';
    assert.match(endSession, /id_token_hint=/);
  });

  after(async () => {
    await stack.close();
    await idp.close();
    rmSync(idpDir, { recursive: true, force: true });
  });

  test('every line is JSON with a word for a level, and the events of the flow are there', () => {
    const events = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.ok(events.every((e) => ['debug', 'info', 'warn', 'error'].includes(String(e.level)) && typeof e.msg === 'string' && typeof e.time === 'string'));
    const logged = (level: string, msg: string) => events.some((e) => e.level === level && String(e.msg).startsWith(msg));
    for (const [level, msg] of [
      ['info', 'identity provider metadata loaded'],
      ['info', 'session created'],
      ['info', 'session ended'],
      ['warn', 'callback rejected'],
      ['warn', 'logout refused'],
      ['warn', 'back-channel logout token rejected'],
      ['info', 'token rejected'],
      ['debug', 'dev IdP logout API ended sessions'],
    ] as const) {
      assert.ok(logged(level, msg), `a ${level} line "${msg}"`);
    }
    const reasons = events.filter((e) => e.msg === 'callback rejected').map((e) => e.reason);
    assert.deepEqual(reasons, ['code_rejected', 'transaction_not_found', 'transaction_not_found']);
    for (const e of events.filter((e) => e.msg === 'session created' || e.msg === 'session ended')) {
      assert.match(String(e.session), /^[A-Za-z0-9_-]{22}$/, 'sessions are named by their reference');
    }
  });

  test('no line shows a session cookie, a store key, a token, the client secret, a sealing key, the admin token or a login state', () => {
    assert.ok(secrets.size >= 16, `collected ${secrets.size} secrets`);
    const log = lines.join('');
    for (const [name, secret] of secrets) {
      assert.ok(secret.length >= 16, `${name} is long enough to search for`);
      assert.ok(!log.includes(secret), `the log shows the ${name}`);
      // Any 16 characters of it, so that no shortened or split form passes either.
      for (let i = 0; i + 16 <= secret.length; i += 8) {
        assert.ok(!log.includes(secret.slice(i, i + 16)), `the log shows part of the ${name}`);
      }
    }
  });
});

describe('the logger Tessera logs through', () => {
  const options = {
    publicUrl: 'http://localhost:3000', issuer: 'http://127.0.0.1:9/never-contacted', clientId: 'c', clientSecret: 'secret-of-the-client',
    keys: generateKeyEntry(), store: 'memory:',
  };
  const claims = { sub: 'alice', roles: [], accessTokenExpiresAt: Math.floor(Date.now() / 1000) + 600 };

  test('a logger passed in receives (fields, msg) calls: session events and rejections', async () => {
    const logger = recordingLogger();
    const tessera = createTessera(options, { store: memoryStore(), logger });
    try {
      const { storeKey } = await internalsOf(tessera).sessions.create({ access_token: 'opaque-access-token-value' }, claims);
      await tessera.handle(new Request('http://localhost:3000/auth/callback'));
      await internalsOf(tessera).sessions.revoke(storeKey);
      const [created, rejected, ended] = logger.calls;
      assert.equal(logger.calls.length, 3);
      assert.deepEqual([created![0], created![2], created![1].sub], ['info', 'session created', 'alice']);
      assert.match(String(created![1].session), /^[A-Za-z0-9_-]{22}$/);
      const { requestId, ...fields } = rejected![1] as { requestId?: unknown };
      assert.deepEqual([rejected![0], fields, rejected![2]], ['warn', { reason: 'invalid_request' }, 'callback rejected']);
      assert.match(String(requestId), /^[0-9a-f-]{36}$/, 'the request id the error page shows');
      assert.deepEqual([ended![0], ended![2], ended![1].session], ['info', 'session ended', created![1].session]);
    } finally {
      await tessera.close();
    }
  });

  test('without a logger, Tessera writes JSON lines to stderr at logLevel, whatever TESSERA_LOG_LEVEL says', () => {
    const probe = fileURLToPath(new URL('./level-probe.ts', import.meta.url));
    const run = (level: string) => {
      const result = spawnSync(process.execPath, ['--import', 'tsx', probe, level], {
        encoding: 'utf8',
        env: { ...process.env, TESSERA_LOG_LEVEL: 'debug' },
        timeout: 30_000,
      });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout, '', 'nothing on stdout');
      return result.stderr.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    };
    const atWarn = run('warn');
    assert.deepEqual(atWarn.map((e) => [e.level, e.msg]), [['warn', 'callback rejected']]);
    const atInfo = run('info');
    assert.deepEqual(atInfo.map((e) => [e.level, e.msg]), [['info', 'session created'], ['warn', 'callback rejected'], ['info', 'session ended']]);
    assert.deepEqual(run('silent'), []);
  });
});
