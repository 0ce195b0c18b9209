import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { startDevIdp, type DevIdp } from '../../src/dev-idp/index.js';
import { attachGateway, createGatewayHandler, type GatewayHandler } from '../../src/gateway/server.js';
import { generateKeyEntry } from '../../src/keys/index.js';
import { createTessera, type Tessera } from '../../src/tessera.js';
import { Browser, parseForms } from '../helpers/browser.js';
import { closeServer, listen, startEchoUpstream, testLogLevel } from '../helpers/stack.js';

const accessTokenTtl = 3;

interface App { url: string; server: Server; tessera: Tessera; gateway: GatewayHandler }

const isAuthorize = (url: string) => new URL(url).pathname === '/cis/oidc/auth';
const isSilentAuthorize = (url: string) => isAuthorize(url) && new URL(url).searchParams.get('prompt') === 'none';
const isLoginForm = (url: string) => new URL(url).pathname.startsWith('/interaction/');

describe('silent SSO across two apps with two clients on one dev IdP', { timeout: 60_000 }, () => {
  let dataDir: string;
  let idp: DevIdp;
  let upstream: Awaited<ReturnType<typeof startEchoUpstream>>;
  let a: App;
  let b: App;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-sso-'));
    upstream = await startEchoUpstream();
    // The apps listen first: app B's redirect URI must be registered with the IdP before it starts.
    const serverA = createServer({ maxHeaderSize: 16 * 1024 });
    const serverB = createServer({ maxHeaderSize: 16 * 1024 });
    const urlA = `http://localhost:${new URL(await listen(serverA, 0)).port}`;
    const urlB = `http://localhost:${new URL(await listen(serverB, 0)).port}`;
    const clientsFile = join(dataDir, 'clients.json');
    writeFileSync(clientsFile, JSON.stringify([{
      client_id: 'app-b',
      client_secret: 'app-b-secret',
      client_name: 'App B',
      redirect_uris: [`${urlB}/auth/callback`],
      post_logout_redirect_uris: [`${urlB}/`],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    }]));
    idp = await startDevIdp({ port: 0, dataDir, quiet: true, clientsFile, accessTokenTtl });
    const app = (server: Server, url: string, clientId: string, clientSecret: string, cookieName: string): App => {
      const tessera = createTessera({
        publicUrl: url,
        issuer: idp.issuer,
        discoveryUrl: idp.discoveryUrl,
        clientId,
        clientSecret,
        cookieName,
        keys: generateKeyEntry(),
        store: `sqlite:${join(dataDir, `${cookieName}.db`)}`,
        dataDir,
        logLevel: testLogLevel(),
      });
      const gateway = createGatewayHandler(tessera, upstream.url);
      attachGateway(server, gateway);
      return { url, server, tessera, gateway };
    };
    // Two apps on one host (localhost): cookies do not separate ports, TESSERA_COOKIE_NAME does.
    a = app(serverA, urlA, 'tessera-dev', 'tessera-dev-secret', 'app-a');
    b = app(serverB, urlB, 'app-b', 'app-b-secret', 'app-b');
  });

  after(async () => {
    for (const app of [a, b]) {
      if (app === undefined) continue;
      await app.gateway.close();
      await app.tessera.close();
      await closeServer(app.server);
    }
    await upstream?.close();
    await idp?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const browser = new Browser({ userAgent: 'SSO test browser' });

  test('a browser with no IdP session tries prompt=none once, gets login_required, then the form, then the app', async () => {
    const form = await browser.navigate(`${a.url}/dashboard?tab=1`);
    assert.equal(form.status, 200);
    assert.ok(isLoginForm(form.url), `ends at the IdP's form, not ${form.url}`);
    assert.ok(parseForms(form.text, form.url).some((f) => 'password' in f.fields));
    const silent = browser.history.filter(isSilentAuthorize);
    assert.equal(silent.length, 1, 'exactly one silent try');
    assert.equal(new URL(silent[0]!).searchParams.get('client_id'), 'tessera-dev');
    const callback = browser.history.find((u) => u.startsWith(`${a.url}/auth/callback`));
    assert.equal(new URL(callback!).searchParams.get('error'), 'login_required');
    assert.equal(browser.history.filter(isAuthorize).length, 2, 'then one interactive authorization request');
    assert.equal(new URL(browser.history.filter(isAuthorize)[1]!).searchParams.get('prompt'), null);

    const app = await browser.submit(form, { username: 'alice', password: 'alice' });
    assert.equal(app.status, 200);
    assert.equal(app.url, `${a.url}/dashboard?tab=1`);
    assert.equal((JSON.parse(app.text) as { headers: Record<string, string> }).headers['x-tessera-sub'], 'alice');
    assert.equal(browser.history.filter(isSilentAuthorize).length, 1, 'no second silent try: no loop');
  });

  test('after the interactive login on app A, app B signs the same browser in with prompt=none and no form', async () => {
    const from = browser.history.length;
    const page = await browser.navigate(`${b.url}/reports`);
    assert.equal(page.status, 200);
    assert.equal(page.url, `${b.url}/reports`);
    assert.equal((JSON.parse(page.text) as { headers: Record<string, string> }).headers['x-tessera-sub'], 'alice');
    const visited = browser.history.slice(from);
    const authorizations = visited.filter(isAuthorize);
    assert.equal(authorizations.length, 1, `one authorization request: ${visited.join(' → ')}`);
    assert.ok(isSilentAuthorize(authorizations[0]!), 'with prompt=none');
    assert.equal(new URL(authorizations[0]!).searchParams.get('client_id'), 'app-b', 'as app B\'s own client');
    assert.ok(!visited.some(isLoginForm), 'no form');
    // Two sessions, one per app, side by side on one host.
    const cookieA = browser.jar.get('app-a', a.url);
    const cookieB = browser.jar.get('app-b', b.url);
    assert.ok(cookieA && cookieB && cookieA !== cookieB);
    const seen = JSON.parse(page.text) as { headers: Record<string, string | undefined> };
    // App B's gateway strips its own cookies; app A's (same host) are the browser's business, as any host-only cookie.
    assert.ok(!/(^|; )app-b(-txn-[^=]*)?=/.test(seen.headers.cookie ?? ''), `app B's cookies never reach its upstream: ${seen.headers.cookie}`);
    assert.equal((await fetch(`${a.url}/auth/session`, { headers: { cookie: `app-a=${cookieA}` } })).status, 200);
    assert.equal((await fetch(`${b.url}/auth/session`, { headers: { cookie: `app-b=${cookieB}` } })).status, 200);
  });

  test('API requests without a session still get 401 JSON, never a redirect to the IdP', async () => {
    const response = await fetch(`${b.url}/api/data`, { headers: { accept: 'application/json' } });
    assert.equal(response.status, 401);
    assert.deepEqual(await response.json(), { error: 'login_required', login_url: '/auth/login?returnTo=%2Fapi%2Fdata' });
  });

  test('after an API call observes an expired access token, the next page visit renews with prompt=none', async () => {
    const user = new Browser();
    const signedIn = await user.signIn(`${a.url}/auth/login?returnTo=%2Fstart`, { username: 'bob', password: 'bob' });
    assert.equal(signedIn.url, `${a.url}/start`);
    const first = user.jar.get('app-a', a.url);
    await sleep(accessTokenTtl * 1000 + 200);
    const api = await user.request(`${a.url}/api/data`, { headers: { accept: 'application/json' } });
    assert.equal(api.status, 401);
    assert.equal(user.jar.get('app-a', a.url), undefined, 'the API answer cleared the cookie');

    const from = user.history.length;
    const page = await user.navigate(`${a.url}/next`);
    assert.equal(page.status, 200);
    assert.equal(page.url, `${a.url}/next`);
    const visited = user.history.slice(from);
    assert.equal(visited[1], `${a.url}/auth/login?returnTo=%2Fnext&silent=1`);
    assert.deepEqual(visited.filter(isAuthorize).map(isSilentAuthorize), [true], 'one authorization request, with prompt=none');
    assert.ok(!visited.some(isLoginForm), 'no form');
    const second = user.jar.get('app-a', a.url);
    assert.ok(second && second !== first, 'a new session id');
  });

  test('a silent try that never came back (still pending in the transaction cookie) makes the next login interactive', async () => {
    const user = new Browser();
    const first = await user.request(`${a.url}/somewhere`);
    assert.equal(first.headers.get('location'), '/auth/login?returnTo=%2Fsomewhere&silent=1');
    const silent = await user.request(`${a.url}${first.headers.get('location')}`);
    assert.ok(isSilentAuthorize(silent.headers.get('location')!), 'the first try is silent');
    // The browser never follows it (the IdP kept it, the user went elsewhere) and asks again.
    const again = await user.request(`${a.url}/somewhere`);
    const login = await user.request(`${a.url}${again.headers.get('location')}`);
    const location = login.headers.get('location')!;
    assert.ok(isAuthorize(location) && !isSilentAuthorize(location), `interactive now: ${location}`);
  });

  test('with TESSERA_SILENT_SSO=false a page without a session goes straight to the interactive login', async () => {
    const tessera = createTessera({ publicUrl: a.url, issuer: idp.issuer, discoveryUrl: idp.discoveryUrl, clientId: 'tessera-dev', clientSecret: 's', store: 'memory:', development: true, dataDir, silentSso: false, logLevel: testLogLevel() });
    try {
      const decision = await tessera.decide({ url: '/x', cookie: undefined, header: () => undefined, request: () => { throw new Error('not an /auth request'); } });
      assert.equal(decision.kind, 'deny');
      assert.equal(decision.kind === 'deny' ? decision.denial.headers.location : '', '/auth/login?returnTo=%2Fx');
    } finally {
      await tessera.close();
    }
  });
});
