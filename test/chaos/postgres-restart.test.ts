import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Browser } from '../helpers/browser.js';
import { privatePostgresSkip, startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.js';
import { skipOrFail } from '../helpers/redis-server.js';
import { gatewayEnvFor, poll, requestWith, startGatewayProcess, startGatewayWorld, type GatewayProcess, type GatewayWorld } from '../instances/support.js';

const reason = privatePostgresSkip();
const skip = reason === false ? false : skipOrFail(reason).skip;

/** Scenario 6: a private PostgreSQL cluster restarted (as a crash: `immediate`) under load. */
describe('chaos: PostgreSQL restart', { skip, timeout: 120_000 }, () => {
  let pg: PrivatePostgres;
  let world: GatewayWorld;
  let gateway: GatewayProcess;

  before(async () => {
    pg = await startPrivatePostgres();
    world = await startGatewayWorld('tessera-chaos-pg-');
    gateway = await startGatewayProcess(gatewayEnvFor(world, pg.url, { TESSERA_SESSION_CACHE_TTL: '200ms' }));
  });

  after(async () => {
    await gateway?.stop();
    await world?.close();
    pg?.dispose();
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
