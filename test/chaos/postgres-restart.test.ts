import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDevIdp, type DevIdp } from '../../src/dev-idp/index.js';
import { generateKeyEntry } from '../../src/keys/index.js';
import { Browser } from '../helpers/browser.js';
import { privatePostgresSkip, startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.js';
import { skipOrFail } from '../helpers/redis-server.js';
import { startEchoUpstream } from '../helpers/stack.js';
import { poll, requestWith, startGatewayProcess, type GatewayProcess } from '../instances/support.js';

const reason = privatePostgresSkip();
const skip = reason === false ? false : skipOrFail(reason).skip;

/** Scenario 6: a private PostgreSQL cluster restarted (as a crash: `immediate`) under load. */
describe('chaos: PostgreSQL restart', { skip, timeout: 120_000 }, () => {
  let dataDir: string;
  let pg: PrivatePostgres;
  let idp: DevIdp;
  let upstream: Awaited<ReturnType<typeof startEchoUpstream>>;
  let gateway: GatewayProcess;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-chaos-pg-'));
    pg = await startPrivatePostgres();
    idp = await startDevIdp({ port: 0, dataDir, quiet: true });
    upstream = await startEchoUpstream();
    gateway = await startGatewayProcess({
      TESSERA_ISSUER: idp.issuer,
      TESSERA_DISCOVERY_URL: idp.discoveryUrl,
      TESSERA_CLIENT_ID: 'tessera-dev',
      TESSERA_CLIENT_SECRET: 'tessera-dev-secret',
      TESSERA_KEYS: generateKeyEntry(),
      TESSERA_STORE: pg.url,
      TESSERA_UPSTREAM: upstream.url,
      TESSERA_DATA_DIR: dataDir,
      TESSERA_SESSION_CACHE_TTL: '200ms',
    });
  });

  after(async () => {
    await gateway?.stop();
    await upstream?.close();
    await idp?.close();
    pg?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('restarted under load: 503s (never 500), then 200 without restarting Tessera, sessions intact', async (t) => {
    const cookies: string[] = [];
    for (const user of ['alice', 'bob']) {
      const browser = new Browser();
      assert.equal((await browser.signIn(`${gateway.url}/auth/login?returnTo=%2Fhello`, { username: user, password: user })).status, 200);
      cookies.push(`tessera=${browser.jar.get('tessera', gateway.url)}`);
    }
    const statuses = new Map<number, number>();
    let running = true;
    t.after(() => void (running = false)); // the load loop ends even when the test fails
    const load = Promise.all(cookies.map(async (cookie) => {
      while (running) {
        const status = (await requestWith(`${gateway.url}/api/data`, cookie, 'api').catch(() => ({ status: 0 }))).status;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 20));
      }
    }));
    await new Promise((r) => setTimeout(r, 300));
    const stoppedAt = Date.now();
    pg.stop('immediate');
    await poll('a 503 while PostgreSQL is down', 10_000, async () => ((statuses.get(503) ?? 0) > 0 ? true : undefined));
    const first503 = Date.now() - stoppedAt;
    await new Promise((r) => setTimeout(r, 1000));
    pg.start();
    const startedAt = Date.now();
    await poll('200 again for every session', 20_000, async () => {
      const answers = await Promise.all(cookies.map((c) => requestWith(`${gateway.url}/api/data`, c, 'api')));
      return answers.every((a) => a.status === 200) ? true : undefined;
    });
    const recovered = Date.now() - startedAt;
    running = false;
    await load;
    t.diagnostic(`postgres restart: first 503 ${first503} ms after the stop; 200 again ${recovered} ms after it was back (sessions lost = 0); statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    for (const status of statuses.keys()) assert.ok(status === 200 || status === 503, `only 200 or 503, got ${status}`);
    assert.ok(gateway.alive());
  });
});
