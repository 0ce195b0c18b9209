import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Browser } from '../helpers/browser.js';
import { redisServerAvailable, skipOrFail, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { gatewayEnvFor, poll, requestWith, startGatewayProcess, startGatewayWorld, type Answer, type GatewayProcess, type GatewayWorld } from './support.js';

const skip = redisServerAvailable() ? false : skipOrFail('redis-server is not on PATH').skip;
const storeMessage = 'The session store is not answering right now. Please try again in a moment.';

/**
 * One `tessera serve` process on a private Redis that the test kills and restarts. Redis writes
 * every acknowledged command to its append-only file (fsync always), as a production Redis that
 * must not lose sessions would.
 */
describe('a gateway through a Redis outage', { skip, timeout: 120_000 }, () => {
  let world: GatewayWorld;
  let redis: RedisServer;
  let gateway: GatewayProcess;
  let cookie: string;

  before(async () => {
    world = await startGatewayWorld('tessera-outage-');
    redis = await startRedisServer({ dir: world.dataDir, args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    gateway = await startGatewayProcess(gatewayEnvFor(world, redis.url, {
      TESSERA_LOG_LEVEL: 'info', // "session store reconnected" is an info line
    }));
  });

  after(async () => {
    await gateway?.stop();
    await redis?.stop().catch(() => undefined);
    await world?.close();
  });

  const page = (path: string) => requestWith(`${gateway.url}${path}`, cookie);
  const api = (path: string) => requestWith(`${gateway.url}${path}`, cookie, 'api');

  function assertUnavailablePage(answer: Answer, label: string): void {
    assert.equal(answer.status, 503, `${label}: ${answer.text.slice(0, 200)}`);
    assert.match(String(answer.headers['content-type']), /^text\/html/, label);
    assert.ok(answer.text.includes('<h1>Temporarily unavailable</h1>'), label);
    assert.ok(answer.text.includes(storeMessage), label);
    assert.equal(answer.headers['cache-control'], 'no-store', label);
    assert.equal(answer.headers['set-cookie'], undefined, `${label}: the session cookie is kept`);
  }

  function assertUnavailableJson(answer: Answer, label: string): void {
    assert.equal(answer.status, 503, `${label}: ${answer.text.slice(0, 200)}`);
    assert.match(String(answer.headers['content-type']), /^application\/json/, label);
    assert.deepEqual(JSON.parse(answer.text), { error: 'temporarily_unavailable', error_description: storeMessage }, label);
    assert.equal(answer.headers['set-cookie'], undefined, `${label}: the session cookie is kept`);
  }

  test('alice signs in while Redis is up', async () => {
    const browser = new Browser();
    const signedIn = await browser.signIn(`${gateway.url}/auth/login?returnTo=%2Fhello`, { username: 'alice', password: 'alice' });
    assert.equal(signedIn.status, 200);
    cookie = `tessera=${browser.jar.get('tessera', gateway.url)}`;
    assert.equal((await page('/hello')).status, 200);
    assert.equal((await requestWith(`${gateway.url}/readyz`, undefined, 'api')).status, 200);
  });

  test('with Redis killed: 503 pages and JSON (never 401, the cookie kept), /readyz 503, a new login 503, and the process lives on', async () => {
    await redis.stop('SIGKILL');
    const killedAt = Date.now();
    // A session seen in the last few seconds may still be answered from the in-process cache
    // (TESSERA_SESSION_CACHE_TTL, 5 s); after that the store is asked, and it is down.
    const first = await poll('an authenticated page answering 503', 20_000, async () => {
      const answer = await page('/hello');
      assert.ok(answer.status === 200 || answer.status === 503, `only 200 (cached) or 503 while the store is down, got ${answer.status}`);
      return answer.status === 503 ? answer : undefined;
    });
    console.log(`outage: authenticated requests answered 503 ${Date.now() - killedAt} ms after Redis was killed (until then from the session cache)`);
    assertUnavailablePage(first, 'page');
    assert.equal(first.headers['retry-after'], '5');
    assertUnavailableJson(await api('/api/data'), 'API request');

    const session = await api('/auth/session');
    assert.equal(session.status, 503, '/auth/session');
    assert.equal((JSON.parse(session.text) as { error: string }).error, 'temporarily_unavailable');

    const ready = await requestWith(`${gateway.url}/readyz`, undefined, 'api');
    assert.equal(ready.status, 503);
    assert.deepEqual(JSON.parse(ready.text), { ready: false, store: false, idp: true });
    assert.equal((await requestWith(`${gateway.url}/healthz`, undefined)).status, 200, 'still live: only readiness fails');

    // A new sign-in reaches the IdP, but the callback cannot record the session.
    const browser = new Browser();
    const callback = await browser.signIn(`${gateway.url}/auth/login?returnTo=%2Fhello`, { username: 'bob', password: 'bob' });
    assert.equal(new URL(callback.url).pathname, '/auth/callback');
    assert.equal(callback.status, 503);
    assert.ok(callback.text.includes(storeMessage), callback.text.slice(0, 300));
    assert.equal(callback.headers.get('retry-after'), '5');
    assert.equal(browser.jar.get('tessera', gateway.url), undefined, 'no session cookie without a stored session');

    // A logout cannot delete the session now: it says so (the browser's cookie is cleared anyway);
    // the revocation is kept and retried, so the session is gone once Redis is back (next test).
    const logout = await requestWith(`${gateway.url}/auth/logout`, cookie, 'page', { method: 'POST', headers: { origin: gateway.url } });
    assert.equal(logout.status, 503);
    assert.ok(logout.text.includes(storeMessage));
    assert.match(String(logout.headers['set-cookie']), /^tessera=; /);

    assert.ok(gateway.alive(), 'the gateway process is still running');
    assert.match(gateway.output(), /"msg":"session store connection lost"/, 'the outage is logged');
  });

  test('with Redis back (same port and directory): the gateway recovers by itself and the logout taken during the outage holds', async () => {
    assert.equal((await page('/hello')).status, 302, 'the instance that took the logout refuses the cookie at once');
    await redis.restart();
    const restartedAt = Date.now();
    await poll('the gateway ready again', 30_000, async () => ((await requestWith(`${gateway.url}/readyz`, undefined, 'api')).status === 200 ? true : undefined));
    console.log(`outage: recovered ${Date.now() - restartedAt} ms after Redis answered again, without restarting the gateway`);
    await poll('the pending revocation done', 10_000, async () => (/"msg":"pending session revocation done"/.test(gateway.output()) ? true : undefined));
    assert.equal((await page('/hello')).status, 302, 'the session ended in the store too');

    const browser = new Browser();
    const signedIn = await browser.signIn(`${gateway.url}/auth/login?returnTo=%2Fhello`, { username: 'bob', password: 'bob' });
    assert.equal(signedIn.status, 200, 'a new sign-in works again');
    assert.match(gateway.output(), /"msg":"session store reconnected"/);
    assert.ok(gateway.alive());
  });
});
