import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { Browser } from '../helpers/browser.js';
import { freePort } from '../helpers/ports.js';
import { gatewayEnvFor, requestWith, startGatewayProcess, startGatewayWorld, type GatewayProcess, type GatewayWorld } from '../instances/support.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Echo { headers: Record<string, string | undefined> }

/** Scenario 8: the IdP rotates its signing key while logins run. */
describe('chaos: JWKS rotation under load', { timeout: 120_000 }, () => {
  let world: GatewayWorld;
  let gateway: GatewayProcess;
  let metricsUrl: string;

  before(async () => {
    world = await startGatewayWorld('tessera-chaos-jwks-');
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    gateway = await startGatewayProcess(gatewayEnvFor(world, 'memory:', {
      // The upstream sees each session's access token, so the test can tell which key signed it.
      TESSERA_TOKEN_RELAY: 'true',
      TESSERA_METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
    }));
  });

  after(async () => {
    await gateway?.stop();
    await world?.close();
  });

  /** JWKS requests the gateway made, from its own metrics. */
  async function jwksFetches(): Promise<number> {
    const text = await (await fetch(metricsUrl)).text();
    let total = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith('tessera_idp_request_duration_seconds_count{') && line.includes('operation="jwks"')) {
        total += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
    }
    return total;
  }

  /** One full login through the gateway; answers the session cookie and the `kid` of its access token. */
  async function login(username: string): Promise<{ cookie: string; kid: string }> {
    const browser = new Browser();
    const page = await browser.signIn(`${gateway.url}/auth/login?returnTo=%2Fhello`, { username, password: username });
    assert.equal(page.status, 200, `login of ${username} failed: ${page.status} ${page.text.slice(0, 300)}`);
    const echo = JSON.parse(page.text) as Echo;
    assert.equal(echo.headers['x-tessera-sub'], username);
    const cookie = `tessera=${browser.jar.get('tessera', gateway.url)}`;
    return { cookie, kid: kidOf(echo) };
  }

  function kidOf(echo: Echo): string {
    const token = /^Bearer (.+)$/.exec(echo.headers.authorization ?? '')?.[1];
    assert.ok(token, 'the access token is relayed upstream');
    return String(decodeProtectedHeader(token).kid);
  }

  test('logins keep succeeding across a rotation (one JWKS refetch); sessions made before it keep working', async (t) => {
    const { idp, dataDir } = world;
    const [oldKid] = idp.signingKids();
    assert.ok(oldKid);
    const before = [await login('alice'), await login('bob')];
    const firstFetchAt = Date.now();
    assert.ok(before.every((s) => s.kid === oldKid));
    assert.equal(await jwksFetches(), 1, 'the first login loaded the JWKS');

    // Logins run from here to the end; every one must succeed.
    type Outcome = { at: number; kid: string };
    const outcomes: Outcome[] = [];
    const failures: string[] = [];
    let running = true;
    const worker = async (username: string) => {
      while (running) {
        try {
          const { kid } = await login(username);
          outcomes.push({ at: Date.now(), kid });
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const workers = [worker('alice'), worker('bob')];
    try {
      // The hard case: the IdP rotates a few seconds after the gateway's first JWKS fetch, well
      // inside the refetch cooldown, which counts only refetches for unknown kids.
      await sleep(Math.max(0, firstFetchAt + 2_000 - Date.now()));
      const fetchesBefore = await jwksFetches();
      const { kid: newKid } = await idp.rotateSigningKey();
      const rotatedAt = Date.now();
      assert.deepEqual(idp.signingKids(), [newKid, oldKid], 'the new key signs, the old one is still published');
      const keysFile = () => (JSON.parse(readFileSync(join(dataDir, 'dev-idp', 'keys.json'), 'utf8')) as { signing: Array<{ kid: string }> }).signing.map((k) => k.kid);
      assert.deepEqual(keysFile(), [newKid, oldKid], 'kept in keys.json, so a restart keeps it');
      await sleep(4000);

      const retired = await idp.retireSigningKeys();
      const retiredAt = Date.now();
      assert.deepEqual(retired, [oldKid]);
      assert.deepEqual(idp.signingKids(), [newKid]);
      assert.deepEqual(keysFile(), [newKid]);
      const jwks = await (await fetch(`${idp.url}/cis/oidc/jwks`)).json() as { keys: Array<{ kid: string }> };
      assert.deepEqual(jwks.keys.map((k) => k.kid), [newKid], 'the old key is no longer published');
      await sleep(3000);
      running = false;
      await Promise.all(workers);

      const fetchesAfter = await jwksFetches();
      const during = outcomes.filter((o) => o.at > rotatedAt);
      t.diagnostic(`logins: ${outcomes.length} in all, ${outcomes.length - during.length} before the rotation, ${during.length} after it (${outcomes.filter((o) => o.at > retiredAt).length} after the old key was dropped), failed: ${failures.length}`);
      t.diagnostic(`JWKS fetches by the gateway: ${fetchesAfter} in all, ${fetchesAfter - fetchesBefore} caused by the rotation`);
      assert.deepEqual(failures, [], 'no login fails during the rotation');
      assert.ok(during.length >= 3, `logins ran after the rotation (${during.length})`);
      assert.ok(during.filter((o) => o.at > rotatedAt + 1000).every((o) => o.kid === newKid), 'logins after the rotation carry the new key');
      assert.equal(fetchesAfter - fetchesBefore, 1, 'exactly one JWKS refetch for the new kid, shared by concurrent logins');
    } finally {
      running = false;
      await Promise.all(workers);
    }

    // Sessions made before the rotation do not need the JWKS again: they keep working, and
    // the upstream still gets the access token they were made with.
    for (const session of before) {
      const answer = await requestWith(`${gateway.url}/hello`, session.cookie);
      assert.equal(answer.status, 200);
      assert.equal(kidOf(JSON.parse(answer.text) as Echo), oldKid);
    }
    assert.ok(gateway.alive());
  });
});
