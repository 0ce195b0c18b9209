/**
 * SECURITY.md, "Gateway": `/metrics` is not on the public port. The public gateway answers 404
 * for it (with or without a session, whatever the query); Prometheus text, `/healthz` and
 * `/readyz` are served on the listener `metricsAddress` (TESSERA_METRICS_ADDRESS) names, and
 * there is no such listener unless it is configured. An invalid address fails at start.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig, resolveConfig } from '../../src/config/index.js';
import type { Gateway } from '../../src/gateway/server.js';
import { createTessera } from '../../src/tessera.js';
import { runCli } from '../helpers/cli.js';
import { baseEnv, problems, serveEnv } from '../helpers/config.js';
import type { Stack } from '../helpers/stack.js';
import { minimalOptions, rawExchange, rawStatus, startGatewayBeside, startSignedInStack } from './support.js';

/** Lines only a Prometheus exposition of Tessera's metrics holds. */
const prometheus = /# (HELP|TYPE) tessera_|^tessera_sessions_created_total/m;

describe('metrics listener', () => {
  let stack: Stack;
  let port: number;
  let id: string;

  before(async () => {
    ({ stack, port, id } = await startSignedInStack());
  });
  after(async () => { await stack?.close(); });

  describe('the public port', () => {
    for (const target of ['/metrics', '/metrics?x', '/metrics?', '/metrics?format=prometheus&x=1']) {
      for (const signedIn of [false, true]) {
        test(`GET ${target} ${signedIn ? 'with' : 'without'} a session answers 404, without metrics`, async () => {
          const seen = stack.upstream.requests.length;
          const cookie = signedIn ? `Cookie: tessera=${id}\r\n` : '';
          const answer = await rawExchange(port, `GET ${target} HTTP/1.1\r\nHost: localhost:${port}\r\n${cookie}Connection: close\r\n\r\n`);
          assert.equal(rawStatus(answer), 404, answer.slice(0, 200));
          assert.doesNotMatch(answer, prometheus);
          assert.equal(stack.upstream.requests.length, seen, 'not passed to the upstream either');
        });
      }
    }

    test('HEAD /metrics answers 404 too', async () => {
      const response = await fetch(`${stack.url}/metrics`, { method: 'HEAD' });
      assert.equal(response.status, 404);
    });

    test('no other spelling of the path gets Prometheus text from the public port', async () => {
      for (const target of ['/metrics/', '/Metrics', '/METRICS', '/%6detrics', '/metrics%3Fx', '//metrics', '/./metrics', '/metrics;x', '/metrics#x']) {
        for (const cookie of ['', `Cookie: tessera=${id}\r\n`]) {
          const answer = await rawExchange(port, `GET ${target} HTTP/1.1\r\nHost: localhost:${port}\r\nAccept: application/json\r\n${cookie}Connection: close\r\n\r\n`);
          assert.notEqual(rawStatus(answer), 0, `${target}: no answer`);
          assert.doesNotMatch(answer, prometheus, `${target} ${cookie ? 'with' : 'without'} a session served metrics`);
        }
      }
    });
  });

  describe("metricsAddress: '127.0.0.1:0'", () => {
    let gateway: Gateway;
    before(async () => { gateway = await startGatewayBeside(stack, { metricsAddress: '127.0.0.1:0' }); });
    after(async () => { await gateway?.close(); });

    test('the metrics listener serves Prometheus text with tessera_sessions_created_total', async () => {
      assert.ok(gateway.metricsUrl, 'metricsUrl is set');
      assert.notEqual(new URL(gateway.metricsUrl).port, new URL(gateway.url).port, 'a listener of its own');
      const response = await fetch(`${gateway.metricsUrl}/metrics`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
      const text = await response.text();
      assert.match(text, /^tessera_sessions_created_total(\{[^}]*\})? \d+/m);
    });

    test('the metrics listener serves /healthz and /readyz', async () => {
      const health = await fetch(`${gateway.metricsUrl}/healthz`);
      assert.equal(health.status, 200);
      assert.match(await health.text(), /ok/);
      const ready = await fetch(`${gateway.metricsUrl}/readyz`);
      assert.equal(ready.status, 200, 'ready: the dev IdP and the memory store are up');
      assert.equal((await ready.json() as { ready: boolean }).ready, true);
    });

    test('the metrics listener proxies nothing and serves no /auth routes', async () => {
      const seen = stack.upstream.requests.length;
      for (const path of ['/', '/app', '/auth/login', '/auth/session']) {
        const response = await fetch(`${gateway.metricsUrl}${path}`, { redirect: 'manual' });
        assert.equal(response.status, 404, path);
        await response.body?.cancel();
      }
      assert.equal(stack.upstream.requests.length, seen);
    });

    test("that gateway's public port still answers /metrics with 404", async () => {
      const response = await fetch(`${gateway.url}/metrics`);
      assert.equal(response.status, 404);
      assert.doesNotMatch(await response.text(), prometheus);
    });
  });

  test('without metricsAddress there is no metrics listener', async () => {
    const gateway = await startGatewayBeside(stack);
    try {
      assert.equal(gateway.metricsUrl, undefined);
      assert.ok('metricsUrl' in gateway, 'the gateway reports that it has none');
    } finally {
      await gateway.close();
    }
  });

  describe('configuration', () => {
    test('an invalid TESSERA_METRICS_ADDRESS is refused, naming the key', () => {
      for (const value of ['nope', '127.0.0.1:99999', '127.0.0.1', ':9464', '127.0.0.1:', '[::1:9464', '127.0.0.1:94x']) {
        assert.ok(problems({ ...baseEnv, TESSERA_METRICS_ADDRESS: value }).some((l) => l.startsWith('TESSERA_METRICS_ADDRESS:')), `${value}: no TESSERA_METRICS_ADDRESS problem`);
      }
    });

    test('host:port and [v6]:port are accepted; the default is no listener', () => {
      assert.equal(loadConfig(baseEnv).metricsAddress, undefined);
      assert.deepEqual(loadConfig({ ...baseEnv, TESSERA_METRICS_ADDRESS: '127.0.0.1:9464' }).metricsAddress, { host: '127.0.0.1', port: 9464 });
      assert.deepEqual(loadConfig({ ...baseEnv, TESSERA_METRICS_ADDRESS: '[::1]:9464' }).metricsAddress, { host: '::1', port: 9464 });
    });

    test('tessera serve with an invalid TESSERA_METRICS_ADDRESS fails at start, naming it', async () => {
      const { code, stderr } = await runCli(['serve'], { ...serveEnv, TESSERA_METRICS_ADDRESS: 'nope' }, 10_000);
      assert.notEqual(code, 0);
      assert.match(stderr, /TESSERA_METRICS_ADDRESS/);
    });

    test('the metricsAddress option is validated by createTessera too', async () => {
      assert.throws(() => createTessera({ ...minimalOptions, metricsAddress: '127.0.0.1:99999' }), /metricsAddress|TESSERA_METRICS_ADDRESS/);
      assert.deepEqual(resolveConfig({ ...minimalOptions, metricsAddress: '127.0.0.1:0' }).metricsAddress, { host: '127.0.0.1', port: 0 });
      await createTessera({ ...minimalOptions, metricsAddress: '127.0.0.1:0' }).close();
    });
  });
});
