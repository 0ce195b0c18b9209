import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
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
    assert.match(stack.output(), new RegExp(`Gateway\\s+\\S+ → ${upstream.url.replace(/\./g, '\\.')}`));
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
});
