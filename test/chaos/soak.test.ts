import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { Browser } from '../helpers/browser.js';
import { gatewayEnvFor, startGatewayProcess, startGatewayWorld, type GatewayProcess, type GatewayWorld } from '../instances/support.js';

const total = Number(process.env.TESSERA_SOAK_REQUESTS ?? 30_000);

function rssKb(pid: number): number {
  const match = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0);
}

/**
 * Scenario 9: a bounded soak (TESSERA_SOAK_REQUESTS, 30 000 by default so it runs in well under
 * a minute on 2 cores) mixing valid sessions, unknown well-formed cookies, malformed cookies and
 * logins. The gateway's RSS over the last third stays within 1.25× of the first third's: the
 * session cache, in-flight reads, per-client slots and pending revocations are all bounded.
 */
describe('chaos: bounded soak', { skip: process.platform === 'linux' ? false : 'reads /proc', timeout: 120_000 }, () => {
  let world: GatewayWorld;
  let gateway: GatewayProcess;

  before(async () => {
    world = await startGatewayWorld('tessera-chaos-soak-');
    gateway = await startGatewayProcess(gatewayEnvFor(world, 'memory:'));
  });

  after(async () => {
    await gateway?.stop();
    await world?.close();
  });

  test(`${total} mixed requests keep RSS flat`, async (t) => {
    const browser = new Browser();
    assert.equal((await browser.signIn(`${gateway.url}/auth/login?returnTo=%2Fhello`, { username: 'alice', password: 'alice' })).status, 200);
    const valid = `tessera=${browser.jar.get('tessera', gateway.url)}`;
    const agent = new Agent({ connections: 8 });
    t.after(() => agent.close());
    const pid = gateway.child.pid!;
    const samples: number[] = [];
    const counts = { ok: 0, anonymous: 0, bad: 0, login: 0, other: 0 };
    let sent = 0;
    const worker = async () => {
      while (sent < total) {
        const n = sent++;
        const kind = n % 4;
        const cookie = kind === 0 ? valid
          : kind === 1 ? `tessera=${randomBytes(32).toString('base64url')}` // unknown, well-formed
            : kind === 2 ? `tessera=${randomBytes(1 + (n % 60)).toString('hex')}!` // malformed
              : undefined;
        const path = kind === 3 ? '/auth/login?returnTo=%2Fhello' : '/api/data';
        const response = await request(`${gateway.url}${path}`, { dispatcher: agent, headers: { accept: 'application/json', ...(cookie ? { cookie } : {}) } });
        await response.body.dump();
        const s = response.statusCode;
        if (kind === 0 && s === 200) counts.ok++;
        else if ((kind === 1 || kind === 2) && s === 401) counts.anonymous++;
        else if (kind === 3 && s === 302) counts.login++;
        else counts.other++;
        if (n % Math.floor(total / 30) === 0) samples.push(rssKb(pid));
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: 8 }, worker));
    const third = Math.floor(samples.length / 3);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(samples.slice(0, third));
    const last = mean(samples.slice(-third));
    t.diagnostic(`soak: ${total} requests in ${Date.now() - started} ms; RSS first third ${Math.round(first / 1024)} MiB, last third ${Math.round(last / 1024)} MiB (ratio ${(last / first).toFixed(2)}); ${JSON.stringify(counts)}`);
    assert.equal(counts.other, 0, 'every request got its expected answer');
    assert.ok(last <= first * 1.25, `RSS grew: ${first} kB → ${last} kB`);
  });
});
