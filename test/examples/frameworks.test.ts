import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDevIdp, type DevIdp } from '../../src/dev-idp/index.js';
import { Browser } from '../helpers/browser.js';
import { startExample } from './support.js';

/**
 * examples/express, fastify, hono and node-http, each started with node as its README says
 * (importing the built package as `tessera`), against the dev IdP: a real sign-in, the guard on
 * /admin, sign-out.
 */
describe('the framework examples, signed in for real against the dev IdP', { timeout: 120_000 }, () => {
  let idp: DevIdp;
  let dataDir: string;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-examples-'));
    idp = await startDevIdp({ port: 0, dataDir, quiet: true });
  });
  after(async () => {
    await idp?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  for (const name of ['express', 'fastify', 'hono']) {
    test(`examples/${name}: anonymous home page, sign in, the admin guard, sign out`, async () => {
      const app = await startExample(name, idp);
      try {
        const anonymous = new Browser();
        assert.match((await anonymous.navigate(`${app.url}/`)).text, /Not signed in/);

        const alice = new Browser();
        const home = await alice.signIn(`${app.url}/auth/login?returnTo=%2F`, { username: 'alice', password: 'alice' });
        assert.equal(home.status, 200, home.text);
        assert.match(home.text, /Hello alice \(roles admin, user\)/);
        assert.match((await alice.navigate(`${app.url}/admin`)).text, /Admin area, alice/);

        const bob = new Browser();
        await bob.signIn(`${app.url}/auth/login?returnTo=%2F`, { username: 'bob', password: 'bob' });
        const denied = await bob.navigate(`${app.url}/admin`);
        assert.equal(denied.status, 403);
        assert.match(denied.text, /Access denied/);

        const out = await alice.request(`${app.url}/auth/logout`, { method: 'POST', headers: { origin: app.url } });
        assert.equal(out.status, 303);
        assert.match((await alice.navigate(`${app.url}/`)).text, /Not signed in/);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- example output ---\n${app.output()}`, { cause: err });
      } finally {
        await app.close();
      }
    });
  }

  test('examples/node-http: every path needs a session; signed in, the app gets req.tessera', async () => {
    const app = await startExample('node-http', idp);
    try {
      const browser = new Browser();
      const first = await browser.request(`${app.url}/reports?x=1`);
      assert.equal(first.status, 302);
      assert.match(first.headers.get('location') ?? '', /^\/auth\/login\?returnTo=%2Freports%3Fx%3D1/);
      const page = await browser.signIn(`${app.url}${first.headers.get('location')}`, { username: 'bob', password: 'bob' });
      assert.match(page.text, /Hello bob \(roles user\), you asked for \/reports\?x=1/);
      const api = await new Browser().request(`${app.url}/data`, { headers: { accept: 'application/json' } });
      assert.equal(api.status, 401);
      assert.equal(JSON.parse(api.text).error, 'login_required');
    } finally {
      await app.close();
    }
  });
});
