import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { startDemoApp } from '../../src/dev/demo-app.js';
import { Browser } from '../helpers/browser.js';
import { startDevStack, type DevStack } from '../helpers/dev-stack.js';
import { startEchoUpstream } from '../helpers/stack.js';

describe('tessera dev (npm start)', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  after(async () => { for (const fn of cleanup.reverse()) await fn(); });

  test('honours TESSERA_UPSTREAM and TESSERA_STORE, and sessions survive a restart', async () => {
    const upstream = await startEchoUpstream();
    cleanup.push(() => upstream.close());
    const env = { TESSERA_UPSTREAM: upstream.url, TESSERA_STORE: 'sqlite:./custom/sessions.db', TESSERA_DEV_IDP_ACCESS_TOKEN_TTL: '120' };
    let stack: DevStack = await startDevStack(env, { keepFolder: true });
    cleanup.push(() => rmSync(stack.cwd, { recursive: true, force: true }));
    const first = stack;
    cleanup.push(() => first.close()); // when an assertion fails before the restart
    assert.match(stack.output(), new RegExp(`Gateway\\s+\\S+ → ${upstream.url.replace(/\./g, '\\.')}`));
    // The demo's route rules are for the demo app: an app of your own gets only the rules you set.
    assert.match(stack.output(), /Route rules\s+none: every path needs a session/);
    assert.equal((await fetch(`${stack.url}/`)).status, 401, 'without rules, / needs a session');
    const browser = new Browser();
    const page = await browser.signIn(`${stack.url}/auth/login?returnTo=/hello`, { username: 'bob', password: 'bob' });
    assert.equal((JSON.parse(page.text) as { headers: Record<string, string> }).headers['x-tessera-sub'], 'bob');
    assert.ok(existsSync(join(stack.cwd, 'custom', 'sessions.db')), 'the SQLite store is where TESSERA_STORE says');
    const session = await (await browser.request(`${stack.url}/auth/session`, { headers: { accept: 'application/json' } })).text;
    const expiresIn = Date.parse(JSON.parse(session).accessTokenExpiresAt) - Date.now();
    assert.ok(expiresIn > 60_000 && expiresIn <= 121_000, 'TESSERA_DEV_IDP_ACCESS_TOKEN_TTL sets the token lifetime');

    await stack.close();
    stack = await startDevStack(env, { cwd: stack.cwd, port: stack.port, idpPort: stack.idpPort, keepFolder: true });
    cleanup.push(() => stack.close());
    const again = await browser.request(`${stack.url}/after-restart`);
    assert.equal(again.status, 200);
    assert.equal((JSON.parse(again.text) as { headers: Record<string, string> }).headers['x-tessera-sub'], 'bob');
  });

  test('TESSERA_ROUTES replaces the demo\'s route rules; the demo app checks /admin itself too', async () => {
    const stack = await startDevStack({ TESSERA_ROUTES: '[{"path":"/static","auth":"none"}]' });
    cleanup.push(() => stack.close());
    assert.match(stack.output(), /Route rules\s+\/static public · anything else needs a session/);
    assert.match(stack.output(), /from TESSERA_ROUTES/);
    assert.equal((await fetch(`${stack.url}/static/demo.css`)).status, 200);
    assert.equal((await fetch(`${stack.url}/`)).status, 401, 'the landing page is no longer public');
    // Without the gateway's /admin rule, bob gets as far as the demo app, which refuses him itself.
    const browser = new Browser();
    await browser.signIn(`${stack.url}/auth/login?returnTo=/app`, { username: 'bob', password: 'bob' });
    const admin = await browser.request(`${stack.url}/admin`);
    assert.equal(admin.status, 403);
    assert.match(admin.text, /id="refused"/);
  });

  test('an invalid TESSERA_ROUTES stops tessera dev before anything starts, naming the rule and the field', async () => {
    await assert.rejects(
      startDevStack({ TESSERA_ROUTES: '[{"path":"/admin","auth":"public"}]' }),
      /TESSERA_ROUTES\[0\]\.auth: expected "required", "optional" or "none"/,
    );
  });
});

test('tessera dev on a gateway port in use stops with one line naming TESSERA_HOST and TESSERA_PORT', async () => {
  const taken = createServer();
  const port = await new Promise<number>((resolve) => taken.listen(0, '127.0.0.1', () => resolve((taken.address() as AddressInfo).port)));
  try {
    const failure = await startDevStack({ TESSERA_HOST: '127.0.0.1' }, { port }).then(
      async (stack) => { await stack.close(); return 'started'; },
      (err: Error) => err.message,
    );
    assert.match(failure, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(TESSERA_HOST, TESSERA_PORT\\): the address is already in use`));
    assert.doesNotMatch(failure, /^\s+at /m, 'a message, not a stack');
  } finally {
    await new Promise((resolve) => taken.close(resolve));
  }
});

describe('the demo app', () => {
  test('serves its pages and static files, and escapes every value it echoes', async () => {
    const demo = await startDemoApp();
    try {
      const hostile = { 'x-tessera-sub': '<img src=x onerror=alert(1)>', 'x-tessera-roles': 'admin,"><b>', 'x-tessera-acr': 'mfa', 'x-tessera-amr': '<i>', 'x-tessera-session': "'`&" };
      for (const path of ['/', '/app', '/admin']) {
        const res = await fetch(`${demo.url}${path}`, { headers: hostile });
        assert.equal(res.status, 200, path);
        assert.equal(res.headers.get('cache-control'), 'no-store');
        assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
        const html = await res.text();
        assert.doesNotMatch(html, /<img|<b>|<i>|'`&/, `${path} echoes nothing unescaped`);
        assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
        assert.doesNotMatch(html, /https?:\/\//, `${path} loads no third-party resources`);
      }
      const landing = await (await fetch(`${demo.url}/`)).text();
      assert.match(landing, /id="sign-in" href="\/auth\/login\?returnTo=%2Fapp"/);
      for (const [path, type] of [['/static/demo.css', /^text\/css/], ['/static/app.js', /^text\/javascript/], ['/static/favicon.svg', /^image\/svg\+xml/]] as const) {
        const res = await fetch(`${demo.url}${path}`);
        assert.equal(res.status, 200, path);
        assert.match(res.headers.get('content-type') ?? '', type);
      }
      assert.equal((await fetch(`${demo.url}/static/missing.css`)).status, 404);
      assert.equal((await fetch(`${demo.url}/admin`, { headers: { 'x-tessera-sub': 'bob', 'x-tessera-roles': 'user', 'x-tessera-acr': 'mfa' } })).status, 403);
      assert.equal((await fetch(`${demo.url}/admin`, { headers: { 'x-tessera-sub': 'alice', 'x-tessera-roles': 'admin', 'x-tessera-acr': 'pwd' } })).status, 403);
      assert.equal((await fetch(`${demo.url}/`, { method: 'POST' })).status, 405);
    } finally {
      await demo.close();
    }
  });
});
