import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDevIdp, type DevIdp } from '../../src/dev-idp/index.js';
import { Browser } from '../helpers/browser.js';
import { startEchoUpstream } from '../helpers/stack.js';
import { gatewayEnvFor, poll, requestWith, startGatewayProcess, type GatewayProcess } from '../instances/support.js';

const idpMessage = 'The identity provider is not answering right now. Please try again in a moment.';

/** A TCP server that accepts every connection and never answers: a hung identity provider. */
async function startBlackHole(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** Scenario 2: the identity provider stops (or hangs) under a running gateway. */
describe('chaos: the identity provider down or slow', { timeout: 90_000 }, () => {
  let dataDir: string;
  let idp: DevIdp | undefined;
  let idpPort: number;
  let upstream: Awaited<ReturnType<typeof startEchoUpstream>>;
  let gateway: GatewayProcess;
  let hole: Awaited<ReturnType<typeof startBlackHole>>;
  let slowGateway: GatewayProcess;
  let env: Record<string, string>;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-chaos-idp-'));
    idp = await startDevIdp({ port: 0, dataDir, quiet: true });
    idpPort = idp.port;
    upstream = await startEchoUpstream();
    hole = await startBlackHole();
    env = gatewayEnvFor({ idp, upstream, dataDir }, 'memory:', { TESSERA_IDP_TIMEOUT: '2s', TESSERA_LOG_LEVEL: 'info' });
    [gateway, slowGateway] = await Promise.all([
      startGatewayProcess(env),
      startGatewayProcess({ ...env, TESSERA_DISCOVERY_URL: `${hole.url}/.well-known/openid-configuration`, TESSERA_IDP_TIMEOUT: '1s' }),
    ]);
  });

  after(async () => {
    await Promise.all([gateway?.stop(), slowGateway?.stop()]);
    await upstream?.close();
    await hole?.close();
    await idp?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('IdP stopped: sessions keep working, a new login is a clear 503 page or JSON, /readyz idp:false; IdP back: logins within 10 s, no restart', async (t) => {
    const browser = new Browser();
    assert.equal((await browser.signIn(`${gateway.url}/auth/login?returnTo=%2Fhello`, { username: 'alice', password: 'alice' })).status, 200);
    const cookie = `tessera=${browser.jar.get('tessera', gateway.url)}`;
    assert.equal((await requestWith(`${gateway.url}/readyz`, undefined, 'api')).status, 200);

    await idp!.close();
    idp = undefined;
    const stoppedAt = Date.now();
    const page = await poll('a new login answering 503', 15_000, async () => {
      const started = Date.now();
      const answer = await requestWith(`${gateway.url}/auth/login?returnTo=%2Fhello`, undefined, 'page');
      assert.ok(Date.now() - started < 2000 + 1500, 'never longer than the IdP timeout');
      assert.ok(answer.status === 302 || answer.status === 503, `only a redirect (metadata still fresh) or 503; got ${answer.status}`);
      return answer.status === 503 ? answer : undefined;
    });
    t.diagnostic(`IdP down: new logins answered 503 ${Date.now() - stoppedAt} ms after the IdP stopped`);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.ok(page.text.includes(idpMessage), page.text.slice(0, 300));
    assert.equal(page.headers['retry-after'], '5');

    const api = await requestWith(`${gateway.url}/auth/login`, undefined, 'api');
    assert.equal(api.status, 503);
    assert.deepEqual(JSON.parse(api.text), { error: 'temporarily_unavailable', error_description: idpMessage });

    const ready = await requestWith(`${gateway.url}/readyz`, undefined, 'api');
    assert.equal(ready.status, 503);
    assert.deepEqual(JSON.parse(ready.text), { ready: false, store: true, idp: false });

    // Existing sessions do not need the IdP.
    const hello = await requestWith(`${gateway.url}/hello`, cookie);
    assert.equal(hello.status, 200);
    assert.equal((JSON.parse(hello.text) as { headers: Record<string, string> }).headers['x-tessera-sub'], 'alice');

    idp = await startDevIdp({ port: idpPort, dataDir, quiet: true });
    const backAt = Date.now();
    await poll('a new login working again', 10_000, async () => {
      const answer = await requestWith(`${gateway.url}/auth/login?returnTo=%2Fhello`, undefined, 'page');
      assert.ok(answer.status === 302 || answer.status === 503, `got ${answer.status}`);
      return answer.status === 302 ? answer : undefined;
    });
    t.diagnostic(`IdP back: new logins redirected again ${Date.now() - backAt} ms after the IdP returned (no gateway restart)`);
    const again = new Browser();
    assert.equal((await again.signIn(`${gateway.url}/auth/login?returnTo=%2Fhello`, { username: 'bob', password: 'bob' })).status, 200);
    assert.equal((await requestWith(`${gateway.url}/readyz`, undefined, 'api')).status, 200);
    assert.ok(gateway.alive());
  });

  test('IdP that accepts and never answers: a login is a 503 within the timeout, /readyz idp:false', async (t) => {
    for (const kind of ['page', 'api'] as const) {
      const started = Date.now();
      const answer = await requestWith(`${slowGateway.url}/auth/login`, undefined, kind);
      const took = Date.now() - started;
      t.diagnostic(`slow IdP (${kind}): 503 after ${took} ms with TESSERA_IDP_TIMEOUT=1s`);
      assert.equal(answer.status, 503, answer.text.slice(0, 200));
      assert.ok(answer.text.includes(idpMessage));
      assert.ok(took < 1000 + 2000, `bounded by the IdP timeout, took ${took} ms`);
    }
    const ready = await requestWith(`${slowGateway.url}/readyz`, undefined, 'api');
    assert.equal(ready.status, 503);
    assert.equal((JSON.parse(ready.text) as { idp: boolean }).idp, false);
    assert.ok(slowGateway.alive());
  });
});
