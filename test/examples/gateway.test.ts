import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDevIdp, type DevIdp } from '../../src/dev-idp/index.js';
import { Browser } from '../helpers/browser.js';
import { freePort } from '../helpers/ports.js';
import { exampleEnv, startProcess, type RunningExample } from './support.js';

/** examples/gateway: the Python app behind `tessera serve` with examples/gateway/routes.json, as its README runs them. */
describe('examples/gateway: a Python app behind tessera serve with route rules', { timeout: 120_000 }, () => {
  let idp: DevIdp;
  let dataDir: string;
  let app: RunningExample;
  let gateway: RunningExample;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-examples-'));
    idp = await startDevIdp({ port: 0, dataDir, quiet: true });
    const appPort = await freePort();
    app = await startProcess('python3', ['examples/gateway/app.py'], { APP_PORT: String(appPort) }, /python app listening/, `http://127.0.0.1:${appPort}`);
    const port = await freePort();
    gateway = await startProcess(process.execPath, ['bin/tessera.js', 'serve'], {
      ...exampleEnv(idp, port),
      TESSERA_LOG_LEVEL: 'info',
      TESSERA_UPSTREAM: app.url,
      TESSERA_ROUTES: 'examples/gateway/routes.json',
    }, /gateway listening/, `http://localhost:${port}`);
  });
  after(async () => {
    await gateway?.close();
    await app?.close();
    await idp?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('public and optional paths without a session, a login for the rest, the identity headers once signed in, 403 without the role', async () => {
    const anonymous = new Browser();
    assert.match((await anonymous.navigate(`${gateway.url}/`)).text, /Not signed in/);
    const css = await anonymous.request(`${gateway.url}/static/site.css`);
    assert.equal(css.status, 200);
    assert.match(css.text, /font-family/);
    const page = await anonymous.request(`${gateway.url}/orders`);
    assert.equal(page.status, 302);
    assert.match(page.headers.get('location') ?? '', /^\/auth\/login\?returnTo=%2Forders/);

    const bob = new Browser();
    const orders = await bob.signIn(`${gateway.url}${page.headers.get('location')}`, { username: 'bob', password: 'bob' });
    assert.match(orders.text, /Hello bob \(roles user\), you asked for \/orders/);
    // A header sent by the client never reaches the app as identity.
    const forged = await bob.request(`${gateway.url}/orders`, { headers: { 'x-tessera-roles': 'admin' } });
    assert.match(forged.text, /roles user\)/);
    assert.equal((await bob.navigate(`${gateway.url}/admin`)).status, 403);

    const alice = new Browser();
    await alice.signIn(`${gateway.url}/auth/login?returnTo=%2Fadmin`, { username: 'alice', password: 'alice' });
    assert.match((await alice.navigate(`${gateway.url}/admin`)).text, /Hello alice \(roles admin,user\), you asked for \/admin/);
  });
});
