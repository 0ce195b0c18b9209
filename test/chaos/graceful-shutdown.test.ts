import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDevIdp, type DevIdp } from '../../src/dev-idp/index.js';
import { Browser } from '../helpers/browser.js';
import { gatewayEnvFor, startGatewayProcess, type GatewayProcess } from '../instances/support.js';

/** An upstream whose `/slow` answers after 1.5 s and whose `/hang` never answers; records arrivals. */
async function startSlowUpstream(): Promise<{ url: string; arrived: string[]; close(): Promise<void> }> {
  const arrived: string[] = [];
  const server: Server = createServer((req, res) => {
    arrived.push(req.url ?? '/');
    if (req.url === '/slow') setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('slow done'), 1500);
    else if (req.url === '/hang') return;
    else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`,
    arrived,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function get(url: string, cookie: string, agent: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { cookie, accept: 'text/plain' } }, (res: IncomingMessage) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

function exitOf(gateway: GatewayProcess): Promise<{ code: number | null; at: number }> {
  return new Promise((resolve) => {
    if (!gateway.alive()) return resolve({ code: gateway.child.exitCode, at: Date.now() });
    gateway.child.once('exit', (code) => resolve({ code, at: Date.now() }));
  });
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Scenario 7: SIGTERM while requests are in flight and keep-alive connections are open. */
describe('chaos: graceful shutdown', { timeout: 90_000 }, () => {
  let dataDir: string;
  let idp: DevIdp;
  let upstream: Awaited<ReturnType<typeof startSlowUpstream>>;
  const started: GatewayProcess[] = [];
  const agents: Agent[] = [];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-chaos-shutdown-'));
    idp = await startDevIdp({ port: 0, dataDir, quiet: true });
    upstream = await startSlowUpstream();
  });

  after(async () => {
    for (const agent of agents) agent.destroy();
    await Promise.all(started.map((g) => g.stop()));
    await upstream?.close();
    await idp?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function signedInGateway(extra: Record<string, string> = {}): Promise<{ gateway: GatewayProcess; cookie: string; port: number }> {
    const gateway = await startGatewayProcess(gatewayEnvFor({ idp, upstream, dataDir }, 'memory:', extra));
    started.push(gateway);
    const browser = new Browser();
    assert.equal((await browser.signIn(`${gateway.url}/auth/login?returnTo=%2Fok`, { username: 'alice', password: 'alice' })).status, 200);
    return { gateway, cookie: `tessera=${browser.jar.get('tessera', gateway.url)}`, port: Number(new URL(gateway.url).port) };
  }

  test('SIGTERM: the slow request in flight completes 200, idle and busy keep-alive connections do not hold the process, new connections are refused, exit 0', async (t) => {
    const { gateway, cookie, port } = await signedInGateway();
    const idleAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const busyAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(idleAgent, busyAgent);
    const target = `http://127.0.0.1:${port}`;
    assert.equal((await get(`${target}/ok`, cookie, idleAgent)).status, 200, 'an idle keep-alive connection is left open');
    assert.equal((await get(`${target}/ok`, cookie, busyAgent)).status, 200);
    const exit = exitOf(gateway);
    const arrivals = upstream.arrived.length;
    const slow = get(`${target}/slow`, cookie, busyAgent); // on the same keep-alive connection
    await until(() => upstream.arrived.slice(arrivals).includes('/slow'), 10_000, 'the slow request reaching the upstream');

    const termAt = Date.now();
    gateway.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(await connectionRefused(port), 'a new connection is refused once SIGTERM is taken');

    const answer = await slow;
    assert.equal(answer.status, 200);
    assert.equal(answer.body, 'slow done');
    const { code, at } = await exit;
    const took = at - termAt;
    t.diagnostic(`graceful shutdown: exit ${code} ${took} ms after SIGTERM with a 1.5 s request in flight and two keep-alive connections (before: ~67 s)`);
    assert.equal(code, 0);
    assert.ok(took < 10_000, `within TESSERA_SHUTDOWN_TIMEOUT (10 s), took ${took} ms`);
  });

  test('SIGTERM with a request that never ends: closed at TESSERA_SHUTDOWN_TIMEOUT, exit 0', async (t) => {
    const { gateway, cookie, port } = await signedInGateway({ TESSERA_SHUTDOWN_TIMEOUT: '2s' });
    const agent = new Agent({ keepAlive: true });
    agents.push(agent);
    const exit = exitOf(gateway);
    const arrivals = upstream.arrived.length;
    const hung = get(`http://127.0.0.1:${port}/hang`, cookie, agent).then(() => 'answered', () => 'closed');
    await until(() => upstream.arrived.slice(arrivals).includes('/hang'), 10_000, 'the hung request reaching the upstream');
    const termAt = Date.now();
    gateway.child.kill('SIGTERM');
    const { code, at } = await exit;
    const took = at - termAt;
    t.diagnostic(`graceful shutdown: a never-ending request closed and exit ${code} ${took} ms after SIGTERM (TESSERA_SHUTDOWN_TIMEOUT=2s)`);
    assert.equal(code, 0);
    assert.ok(took >= 1900, `the request had its time, took ${took} ms`);
    assert.ok(took < 2000 + 4000, `bounded by the timeout, took ${took} ms`);
    assert.equal(await hung, 'closed');
  });
});
