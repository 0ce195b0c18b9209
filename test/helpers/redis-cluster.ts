/**
 * A Redis Cluster (masters, and replicas when asked) on free loopback ports, in temporary directories.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { portIsFree, sleep, startRedisServer, type RedisServer } from './redis-server.js';

export interface RedisCluster {
  nodes: Array<{ host: string; port: number }>;
  /** The redis-server processes, in `nodes` order (for tests that kill one). */
  servers: RedisServer[];
  dispose(): Promise<void>;
}

export function redisClusterAvailable(): boolean {
  const ok = (cmd: string) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
  return ok('redis-server') && ok('redis-cli');
}

/** A port P where both P and the cluster bus port P + 10000 are free. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (taken.has(port) || taken.has(port + 10_000) || taken.has(port - 10_000)) continue;
    if ((await portIsFree(port)) && (await portIsFree(port + 10_000))) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free port pair for a cluster node');
}

function redisCli(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** `size` masters, each with `replicas` replicas (`redis-cli --cluster create --cluster-replicas`). */
export async function startRedisCluster(size = 3, replicas = 0): Promise<RedisCluster> {
  const taken = new Set<number>();
  const servers: RedisServer[] = [];
  const dirs: string[] = [];
  const dispose = async () => {
    await Promise.all(servers.map((server) => server.stop().catch(() => undefined)));
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  };
  try {
    for (let i = 0; i < size * (1 + replicas); i++) {
      const dir = await mkdtemp(join(tmpdir(), 'tessera-redis-cluster-'));
      dirs.push(dir);
      const port = await clusterPort(taken);
      servers.push(
        await startRedisServer({ port, dir, args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000', '--repl-diskless-sync-delay', '0'] }),
      );
    }
    const addresses = servers.map((server) => `127.0.0.1:${server.port}`);
    const created = await redisCli(['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicas), '--cluster-yes']);
    if (created.code !== 0) throw new Error(`redis-cli --cluster create failed: ${created.output}`);
    const deadline = Date.now() + 20_000;
    // Ready means: every node says the cluster is ok and, with replicas, every replica has synced
    // with its master and every node lists it beside that master. A replica that never synced is
    // not a failover target, and a failover test against it would test nothing.
    const ready = async (port: number): Promise<string | true> => {
      const info = await redisCli(['-p', String(port), 'cluster', 'info']);
      if (!info.output.includes('cluster_state:ok')) return info.output;
      if (replicas === 0) return true;
      const replication = await redisCli(['-p', String(port), 'info', 'replication']);
      if (replication.output.includes('role:slave') && !replication.output.includes('master_link_status:up')) return replication.output;
      const shards = await redisCli(['-p', String(port), 'cluster', 'shards']);
      const served = (shards.output.match(/^online$/gm) ?? []).length;
      return served === size * (1 + replicas) ? true : `${served} of ${size * (1 + replicas)} nodes online in CLUSTER SHARDS:\n${shards.output}`;
    };
    for (const server of servers) {
      for (;;) {
        const state = await ready(server.port);
        if (state === true) break;
        if (Date.now() > deadline) throw new Error(`cluster not ready on ${server.port}: ${state}`);
        await sleep(100);
      }
    }
    return { nodes: servers.map((server) => ({ host: '127.0.0.1', port: server.port })), servers, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
