import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { Browser } from '../helpers/browser.js';
import { freePort, pingRedis, redisServerAvailable, skipOrFail, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { gatewayEnvFor, poll, requestWith, startGatewayProcess, startGatewayWorld, type GatewayProcess, type GatewayWorld } from '../instances/support.js';

const skip = redisServerAvailable() ? false : skipOrFail('redis-server is not on PATH').skip;
const name = 'chaos';

/**
 * Scenario 4: a master, a replica and three real Sentinels on free ports; the master is SIGKILLed
 * while requests run. Requests answer 503 (never 500) during the failover and 200 again within
 * 15 s of the promotion; a session written a second before the kill survives (asynchronous
 * replication: what reached the replica survives, typically everything older than a few ms).
 */
describe('chaos: Redis Sentinel failover', { skip, timeout: 120_000 }, () => {
  let world: GatewayWorld;
  let master: RedisServer;
  let replica: RedisServer;
  const sentinels: ChildProcess[] = [];
  const sentinelPorts: number[] = [];
  let gateway: GatewayProcess;

  before(async () => {
    world = await startGatewayWorld('tessera-chaos-sentinel-');
    const { dataDir } = world;
    master = await startRedisServer();
    replica = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const config = join(dataDir, `sentinel-${i}.conf`);
      writeFileSync(config, [
        `port ${port}`, 'bind 127.0.0.1', `dir ${dataDir}`,
        `sentinel monitor ${name} 127.0.0.1 ${master.port} 2`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`, '',
      ].join('\n'));
      sentinels.push(spawn('redis-server', [config, '--sentinel'], { stdio: 'ignore' }));
      sentinelPorts.push(port);
    }
    for (const port of sentinelPorts) await poll(`sentinel on ${port}`, 10_000, async () => ((await pingRedis(port)) ? true : undefined));
    const probe = new Redis({ port: replica.port, lazyConnect: true });
    await probe.connect();
    await poll('the replica in sync', 10_000, async () => (/master_link_status:up/.test(await probe.info('replication')) ? true : undefined));
    probe.disconnect();
    const store = `redis-sentinel://${sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',')}/${name}`;
    gateway = await startGatewayProcess(gatewayEnvFor(world, store, {
      TESSERA_SESSION_CACHE_TTL: '200ms', // the store is asked on (nearly) every request
    }));
  });

  after(async () => {
    await gateway?.stop();
    for (const s of sentinels) s.kill('SIGKILL');
    await master?.stop('SIGKILL').catch(() => undefined);
    await replica?.dispose().catch(() => undefined);
    await master?.dispose().catch(() => undefined);
    await world?.close();
  });

  test('SIGKILL the master under load: 503 during the failover, never 500, 200 within 15 s of the promotion, sessions kept', async (t) => {
    const signIn = async (user: string) => {
      const browser = new Browser();
      assert.equal((await browser.signIn(`${gateway.url}/auth/login?returnTo=%2Fhello`, { username: user, password: user })).status, 200);
      return `tessera=${browser.jar.get('tessera', gateway.url)}`;
    };
    const early = await signIn('alice');
    const late = await signIn('bob');
    await new Promise((r) => setTimeout(r, 1000)); // written a second before the kill

    const statuses = new Map<number, number>();
    let running = true;
    t.after(() => void (running = false)); // the load loop ends even when the test fails
    let last200 = 0;
    const load = Promise.all([early, late].map(async (cookie) => {
      while (running) {
        const status = (await requestWith(`${gateway.url}/api/data`, cookie, 'api').catch(() => ({ status: 0 }))).status;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status === 200) last200 = Date.now();
        await new Promise((r) => setTimeout(r, 20));
      }
    }));

    await master.stop('SIGKILL');
    const killedAt = Date.now();
    const sentinel = new Redis({ port: sentinelPorts[0]! });
    let promotedAt = 0;
    try {
      await poll('the replica promoted', 30_000, async () => {
        const [, port] = ((await sentinel.call('SENTINEL', 'get-master-addr-by-name', name)) as [string, string]) ?? [];
        return Number(port) === replica.port ? (promotedAt = Date.now()) : undefined;
      });
    } finally {
      sentinel.disconnect();
    }
    const firstOkAfter = await poll('200 again after the promotion', 15_000, async () => {
      const answers = await Promise.all([early, late].map((c) => requestWith(`${gateway.url}/api/data`, c, 'api')));
      return answers.every((a) => a.status === 200) ? Date.now() : undefined;
    });
    running = false;
    await load;
    t.diagnostic(`sentinel failover: promoted ${promotedAt - killedAt} ms after the kill; 200 again ${firstOkAfter - promotedAt} ms after the promotion (${firstOkAfter - killedAt} ms after the kill); statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    assert.ok(last200 > 0);
    for (const status of statuses.keys()) assert.ok(status === 200 || status === 503, `only 200 or 503 during the failover, got ${status}`);
    assert.ok(firstOkAfter - promotedAt < 15_000);
    assert.ok(gateway.alive(), 'no crash');
  });
});
