import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { Browser } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { skipOrFail, useRedis } from '../helpers/redis-server.js';
import { gatewayEnvFor, poll, requestWith, startGatewayProcess, startGatewayWorld, startLoadBalancer, type GatewayProcess, type GatewayWorld, type LoadBalancer } from './support.js';

const redis = await useRedis();
const skip = 'skip' in redis ? skipOrFail(redis.skip).skip : false;
const prefix = `tessera-test-${randomBytes(6).toString('hex')}:`;
const adminToken = randomBytes(24).toString('base64url');

describe('two tessera serve processes sharing one Redis', { skip, timeout: 120_000 }, () => {
  let world: GatewayWorld;
  let storeUrl: string;
  let env: Record<string, string>;
  let a: GatewayProcess;
  let b: GatewayProcess;

  before(async () => {
    if ('skip' in redis) return;
    world = await startGatewayWorld('tessera-instances-');
    storeUrl = `${redis.url}?prefix=${prefix}`;
    // One env, so one key ring on every instance: either can open what the other sealed.
    env = gatewayEnvFor(world, storeUrl, {
      TESSERA_ADMIN_TOKEN: adminToken,
      // Far longer than the test: a session that outlives its logout on the other instance can only
      // come from this cache, so only the Redis invalidation messages can make these tests pass.
      TESSERA_SESSION_CACHE_TTL: '10m',
    });
    [a, b] = await Promise.all([startGatewayProcess(env), startGatewayProcess(env)]);
  });

  after(async () => {
    if ('skip' in redis) return;
    await Promise.all([a?.stop(), b?.stop()]);
    await world?.close();
    const client = new Redis(redis.url);
    for await (const keys of client.scanStream({ match: `${prefix}*` }) as AsyncIterable<string[]>) if (keys.length > 0) await client.del(...keys);
    client.disconnect();
    await redis.dispose();
  });

  /** Signs in through `gateway`; returns the `Cookie` header of the new session. */
  async function signIn(gateway: GatewayProcess, username = 'alice'): Promise<string> {
    const browser = new Browser();
    const page = await browser.signIn(`${gateway.url}/auth/login?returnTo=%2Fhello`, { username, password: username });
    assert.equal(page.status, 200, `signed in through ${gateway.url}: ${page.text.slice(0, 300)}`);
    assert.equal(page.url, `${gateway.url}/hello`);
    const id = browser.jar.get('tessera', gateway.url);
    assert.ok(id, 'session cookie set');
    return `tessera=${id}`;
  }

  /** The user the upstream saw, or the status when the request did not reach it. */
  async function whoIs(gateway: GatewayProcess, cookie: string): Promise<string | number> {
    const answer = await requestWith(`${gateway.url}/hello`, cookie);
    if (answer.status !== 200) return answer.status;
    return (JSON.parse(answer.text) as { headers: Record<string, string> }).headers['x-tessera-sub'] ?? 'no identity header';
  }

  /**
   * Asserts the old cookie is refused: pages go to login (cookie cleared), APIs get 401. The other
   * instance learns of the end through Redis pub/sub, a few milliseconds later: the first request
   * may still pass for that long (the cache alone would keep it for 10 minutes).
   */
  async function assertRefused(gateway: GatewayProcess, cookie: string, label: string): Promise<void> {
    await poll(`${label}: ${gateway.url} refuses the cookie`, 1000, async () => (typeof (await whoIs(gateway, cookie)) === 'number' ? true : undefined));
    const page = await requestWith(`${gateway.url}/hello`, cookie);
    assert.equal(page.status, 302, `${label}: page on ${gateway.url} is sent to login`);
    assert.equal(page.headers.location, '/auth/login?returnTo=%2Fhello&silent=1');
    assert.match(String(page.headers['set-cookie']), /^tessera=; /, `${label}: the dead cookie is cleared`);
    const api = await requestWith(`${gateway.url}/api/data`, cookie, 'api');
    assert.equal(api.status, 401, `${label}: API on ${gateway.url}`);
    assert.equal((JSON.parse(api.text) as { error: string }).error, 'login_required');
  }

  test('a session created on one instance is valid on the other (same cookie, other port)', async () => {
    const cookie = await signIn(a);
    assert.equal(await whoIs(a, cookie), 'alice');
    assert.equal(await whoIs(b, cookie), 'alice');
    const session = await requestWith(`${b.url}/auth/session`, cookie, 'api');
    assert.equal(session.status, 200);
    assert.equal((JSON.parse(session.text) as { sub: string }).sub, 'alice');
  });

  test('a logout on one instance is refused on the other at once, although that one had the session cached', async () => {
    const cookie = await signIn(a);
    assert.equal(await whoIs(b, cookie), 'alice');
    assert.equal(await whoIs(a, cookie), 'alice'); // now in both caches, for 10 minutes

    const logout = await requestWith(`${b.url}/auth/logout`, cookie, 'page', { method: 'POST', headers: { origin: b.url } });
    assert.equal(logout.status, 303);
    assert.match(String(logout.headers['set-cookie']), /^tessera=; /);

    await assertRefused(a, cookie, 'after a logout on B');
    await assertRefused(b, cookie, 'after a logout on B');
  });

  test('revoking every session of a user through the admin API ends them on both instances', async () => {
    const onA = await signIn(a);
    const onB = await signIn(b);
    for (const gateway of [a, b]) for (const cookie of [onA, onB]) assert.equal(await whoIs(gateway, cookie), 'alice');

    const auth = { authorization: `Bearer ${adminToken}` };
    const listed = await requestWith(`${a.url}/auth/admin/users/alice/sessions`, undefined, 'api', { headers: auth });
    assert.equal(listed.status, 200);
    const count = (JSON.parse(listed.text) as { sessions: unknown[] }).sessions.length;
    assert.ok(count >= 2, `instance A lists the session made on B too (${count})`);

    const revoked = await requestWith(`${b.url}/auth/admin/users/alice/sessions`, undefined, 'api', { method: 'DELETE', headers: auth });
    assert.equal(revoked.status, 200);
    assert.deepEqual(JSON.parse(revoked.text), { revoked: count });

    for (const gateway of [a, b]) for (const cookie of [onA, onB]) await assertRefused(gateway, cookie, 'after the admin revoke on B');
  });

  test('`tessera sessions revoke --sub` ends a user\'s sessions on both instances', async () => {
    const onA = await signIn(a, 'bob');
    const onB = await signIn(b, 'bob');
    for (const gateway of [a, b]) for (const cookie of [onA, onB]) assert.equal(await whoIs(gateway, cookie), 'bob');

    const listed = await runCli(['sessions', 'list', '--sub', 'bob'], { TESSERA_STORE: storeUrl });
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^2 session\(s\) for bob$/m);
    const revoked = await runCli(['sessions', 'revoke', '--sub', 'bob'], { TESSERA_STORE: storeUrl });
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /revoked 2 session\(s\) for bob/);

    for (const gateway of [a, b]) for (const cookie of [onA, onB]) await assertRefused(gateway, cookie, 'after tessera sessions revoke');
    assert.ok(a.alive() && b.alive());
  });
  describe('behind a round-robin load balancer, one public URL, no sticky sessions', () => {
    let balancer: LoadBalancer;
    let c: GatewayProcess;
    let d: GatewayProcess;
    before(async () => {
      if ('skip' in redis) return;
      balancer = await startLoadBalancer();
      [c, d] = await Promise.all([startGatewayProcess(env, balancer.url), startGatewayProcess(env, balancer.url)]);
      balancer.targets = [c.url, d.url];
    });
    after(async () => {
      await Promise.all([c?.stop(), d?.stop()]);
      await balancer?.close();
    });

    test('a login started on one instance is completed on the other, and every later request may land on either', async () => {
      const browser = new Browser();
      const page = await browser.signIn(`${balancer.url}/auth/login?returnTo=%2Fhello`, { username: 'alice', password: 'alice' });
      assert.equal(page.status, 200, page.text.slice(0, 300));
      const served = (path: string) => balancer.log.find((entry) => entry.path.startsWith(path))?.target;
      assert.notEqual(served('/auth/login'), undefined);
      assert.notEqual(served('/auth/login'), served('/auth/callback'), 'the callback went to the other instance than the login');

      const cookie = `tessera=${browser.jar.get('tessera', balancer.url)}`;
      const before = balancer.log.length;
      for (let i = 0; i < 4; i += 1) assert.equal((await requestWith(`${balancer.url}/hello`, cookie)).status, 200);
      assert.deepEqual(new Set(balancer.log.slice(before).map((entry) => entry.target)), new Set([0, 1]), 'both instances served the session');

      const logout = await requestWith(`${balancer.url}/auth/logout`, cookie, 'page', { method: 'POST', headers: { origin: balancer.url } });
      assert.equal(logout.status, 303);
      for (const gateway of [c, d]) assert.equal((await requestWith(`${gateway.url}/hello`, cookie)).status, 302, `refused on ${gateway.url}`);
    });
  });
});
