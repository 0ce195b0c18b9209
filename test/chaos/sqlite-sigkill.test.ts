import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Browser } from '../helpers/browser.js';
import { gatewayEnvFor, requestWith, startGatewayProcess, startGatewayWorld, type GatewayProcess, type GatewayWorld } from '../instances/support.js';

/**
 * Scenario 1: 20 logins complete under load (the client has seen each `Set-Cookie`), the gateway
 * is SIGKILLed at once, and after a restart on the same SQLite file every one of them is valid.
 * The session row is committed (WAL, synchronous=NORMAL: in the OS before COMMIT returns) before
 * the callback answers, so a killed process loses nothing it acknowledged.
 */
describe('chaos: SIGKILL with SQLite', { timeout: 90_000 }, () => {
  let world: GatewayWorld;
  let env: Record<string, string>;
  const gateways: GatewayProcess[] = [];

  before(async () => {
    world = await startGatewayWorld('tessera-chaos-sqlite-');
    env = gatewayEnvFor(world, `sqlite:${join(world.dataDir, 'sessions.db')}`);
  });

  after(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await world?.close();
  });

  test('20 acknowledged logins under load all survive a SIGKILL', async (t) => {
    const first = await startGatewayProcess(env);
    gateways.push(first);
    const publicUrl = first.url;
    let loadRunning = true;
    let loadRequests = 0;
    const load = (async () => {
      while (loadRunning) {
        await requestWith(`${first.url}/hello`, 'tessera=' + 'x'.repeat(43), 'api').catch(() => undefined);
        loadRequests++;
      }
    })();
    const cookies: string[] = [];
    for (let batch = 0; batch < 4; batch++) {
      await Promise.all(Array.from({ length: 5 }, async (_, i) => {
        const browser = new Browser();
        const user = (batch * 5 + i) % 2 === 0 ? 'alice' : 'bob';
        const answer = await browser.signIn(`${first.url}/auth/login?returnTo=%2Fhello`, { username: user, password: user });
        assert.equal(answer.status, 200);
        const value = browser.jar.get('tessera', first.url);
        assert.ok(value !== undefined, 'the Set-Cookie was seen');
        cookies.push(`tessera=${value}`);
      }));
    }
    // At once: no graceful close, no checkpoint.
    first.child.kill('SIGKILL');
    await new Promise<void>((resolve) => (first.alive() ? first.child.once('exit', () => resolve()) : resolve()));
    loadRunning = false;
    await load;
    assert.equal(cookies.length, 20);

    const second = await startGatewayProcess(env, publicUrl);
    gateways.push(second);
    let valid = 0;
    for (const cookie of cookies) {
      const answer = await requestWith(`${second.url}/hello`, cookie, 'api');
      if (answer.status === 200) valid++;
    }
    t.diagnostic(`SIGKILL with SQLite: ${valid}/20 acknowledged sessions valid after restart (sessions lost = ${20 - valid}; ${loadRequests} load requests alongside)`);
    assert.equal(valid, 20, 'sessions lost = 0');
  });
});
