import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { Browser } from '../helpers/browser.js';
import { redisClusterAvailable, startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { skipOrFail } from '../helpers/redis-server.js';
import { gatewayEnvFor, poll, requestWith, startGatewayProcess, startGatewayWorld, type GatewayProcess, type GatewayWorld } from '../instances/support.js';

const skip = redisClusterAvailable() ? false : skipOrFail('redis-server / redis-cli are not on PATH').skip;

/** Scenario 5: three masters with a replica each; one master is SIGKILLed under load. */
describe('chaos: Redis Cluster, one master killed', { skip, timeout: 120_000 }, () => {
  let cluster: RedisCluster;
  let world: GatewayWorld;
  let gateway: GatewayProcess;

  before(async () => {
    cluster = await startRedisCluster(3, 1);
    world = await startGatewayWorld('tessera-chaos-cluster-');
    const store = `redis-cluster://${cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
    gateway = await startGatewayProcess(gatewayEnvFor(world, store, { TESSERA_SESSION_CACHE_TTL: '200ms' }));
  });

  after(async () => {
    await gateway?.stop();
    await world?.close();
    await cluster?.dispose();
  });

  test('the master holding a session killed: 503 (never 500), 200 again within 15 s of the promotion, the session kept', async (t) => {
    const browser = new Browser();
    assert.equal((await browser.signIn(`${gateway.url}/auth/login?returnTo=%2Fhello`, { username: 'alice', password: 'alice' })).status, 200);
    const cookie = `tessera=${browser.jar.get('tessera', gateway.url)}`;
    await new Promise((r) => setTimeout(r, 1000));

    // The master that holds alice's session (`tessera:s:<key>`, the only session in the cluster).
    let victim = -1;
    for (const [i, node] of cluster.nodes.entries()) {
      const client = new Redis({ port: node.port });
      try {
        const role = ((await client.call('ROLE')) as [string])[0];
        if (role === 'master' && (await client.scan('0', 'MATCH', 'tessera:s:*', 'COUNT', 1000))[1].length > 0) victim = i;
      } finally {
        client.disconnect();
      }
    }
    assert.ok(victim >= 0, 'a master holds the session');
    const statuses = new Map<number, number>();
    let running = true;
    t.after(() => void (running = false)); // the load loop ends even when the test fails
    const load = (async () => {
      while (running) {
        const status = (await requestWith(`${gateway.url}/api/data`, cookie, 'api').catch(() => ({ status: 0 }))).status;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await cluster.servers[victim]!.stop('SIGKILL');
    const killedAt = Date.now();
    const survivor = cluster.nodes.find((_, i) => i !== victim)!;
    const probe = new Redis({ port: survivor.port });
    let promotedAt = 0;
    try {
      const killedPort = cluster.nodes[victim]!.port;
      await poll('the replica promoted and the cluster ok again', 30_000, async () => {
        const nodes = String(await probe.call('CLUSTER', 'NODES'));
        const failed = nodes.split('\n').some((line) => line.includes(`:${killedPort}@`) && /\bfail\b/.test(line));
        const ok = /cluster_state:ok/.test(String(await probe.call('CLUSTER', 'INFO')));
        return failed && ok ? (promotedAt = Date.now()) : undefined;
      });
    } finally {
      probe.disconnect();
    }
    let last = '';
    const okAt = await poll('200 again', 15_000, async () => {
      const answer = await requestWith(`${gateway.url}/api/data`, cookie, 'api');
      last = `${answer.status} ${answer.text.slice(0, 200)}`;
      return answer.status === 200 ? Date.now() : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}; killed at ${new Date(killedAt).toISOString()}, cluster ok at ${new Date(promotedAt).toISOString()}; the last answer: ${last}\n--- the gateway's log ---\n${gateway.output().slice(-6000)}`);
    });
    running = false;
    await load;
    assert.ok((statuses.get(503) ?? 0) > 0, 'the session was on the killed master: some requests saw the outage');
    t.diagnostic(`cluster failover: cluster ok ${promotedAt - killedAt} ms after the kill; 200 again ${okAt - promotedAt} ms after (sessions lost = 0); statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    for (const status of statuses.keys()) assert.ok(status === 200 || status === 503, `only 200 or 503, got ${status}`);
    assert.ok(gateway.alive());
  });
});
