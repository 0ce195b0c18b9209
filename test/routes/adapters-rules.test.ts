/**
 * The route rules in every adapter (issue 11): `tesseraMiddleware` (node), `tesseraExpress`,
 * `tesseraFastify` and `tesseraHono`, each on `createTessera({ routes })` against the dev IdP,
 * answer as the gateway does — same statuses, bodies and headers — for public, optional and
 * required routes, roles and step-up; `requireSession` guards one route in each; and the
 * application routes on the path the rule matched.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import fc from 'fast-check';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { request } from 'undici';
import { requireSession as expressRequireSession, tesseraExpress } from '../../src/adapters/express.js';
import { requireSession as fastifyRequireSession, tesseraFastify } from '../../src/adapters/fastify.js';
import { requireSession as honoRequireSession, tesseraHono, type TesseraVariables } from '../../src/adapters/hono.js';
import { toRequest, writeResponse } from '../../src/adapters/node-bridge.js';
import { requireSession as nodeRequireSession, tesseraMiddleware, type RequestWithSession } from '../../src/adapters/node.js';
import { startDevIdp, type DevIdp } from '../../src/dev-idp/index.js';
import { generateKeyEntry } from '../../src/keys/index.js';
import { memoryStore } from '../../src/stores/index.js';
import { createTessera, type Tessera } from '../../src/tessera.js';
import { Browser } from '../helpers/browser.js';
import { freePort } from '../helpers/ports.js';
import { isUnder, nonCanonical, readings, requestPlan, targetOf } from '../helpers/path-spellings.js';
import { header, rawRequest } from '../helpers/raw-http.js';
import { closeServer, listen, startStack, testLogLevel, type Stack } from '../helpers/stack.js';

/** The rules every adapter gets. */
const rules = [
  { path: '/public', auth: 'none' },
  { path: '/maybe', auth: 'optional' },
  { path: '/admin', roles: ['admin'] },
  { path: '/pay', acr: 'mfa', maxAge: '10m' },
  // Public for the rules; the adapters guard /open/admin and /open/mfa with requireSession.
  { path: '/open', auth: 'none' },
] as const;

/** The requirements of the requireSession routes, as the gateway's rules say them. */
const guarded = { admin: { roles: ['admin'] }, mfa: { acr: 'mfa', maxAge: 600 } } as const;
const gatewayRules = [
  { path: '/open/admin', roles: ['admin'] },
  { path: '/open/mfa', acr: 'mfa', maxAge: '10m' },
  ...rules,
];

interface Target {
  name: string;
  url: string;
  port: number;
  /** Session cookies (`name=value`) for bob, alice (password sign-in) and a dead one (after logout). */
  cookies: { bob: string; alice: string; dead: string };
  close(): Promise<void>;
}

/** What the application's handler answers: which handler ran, the URL it routed on, and the session's sub. */
function appAnswer(handler: string, url: string, sub: string | undefined) {
  return JSON.stringify({ handler, url, sub: sub ?? null });
}

/** The handler a plain node app picks for a URL (as such an app would: by the URL it was given). */
function nodeRoute(url: string): string {
  const path = url.split('?')[0]!;
  if (path === '/admin' || path.startsWith('/admin/')) return 'admin';
  if (path === '/public' || path.startsWith('/public/')) return 'public';
  return 'fallback';
}

function newTessera(url: string, idp: DevIdp): Tessera {
  return createTessera({
    publicUrl: url, issuer: idp.issuer, discoveryUrl: idp.discoveryUrl, clientId: 'tessera-dev',
    clientSecret: 'tessera-dev-secret', keys: generateKeyEntry(), routes: [...rules], logLevel: testLogLevel(),
  } as never, { store: memoryStore() });
}

async function nodeApp(idp: DevIdp) {
  const server = createServer();
  const port = Number(new URL(await listen(server, 0)).port);
  const url = `http://localhost:${port}`;
  const tessera = newTessera(url, idp);
  const rules = tesseraMiddleware(tessera);
  const admin = nodeRequireSession(tessera, { roles: [...guarded.admin.roles] });
  const mfa = nodeRequireSession(tessera, { ...guarded.mfa });
  const reply = (req: IncomingMessage, res: ServerResponse, handler: string) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(appAnswer(handler, req.url ?? '', (req as RequestWithSession).tessera?.sub));
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void rules(req, res, (err?: unknown) => {
      if (err) return void res.writeHead(500).end(String(err));
      const path = (req.url ?? '').split('?')[0];
      if (path === '/open/admin') return void admin(req, res, () => reply(req, res, 'open-admin'));
      if (path === '/open/mfa') return void mfa(req, res, () => reply(req, res, 'open-mfa'));
      reply(req, res, nodeRoute(req.url ?? ''));
    });
  });
  return { url, port, close: async () => { await closeServer(server); await tessera.close(); } };
}

async function expressApp(idp: DevIdp) {
  const server = createServer();
  const port = Number(new URL(await listen(server, 0)).port);
  const url = `http://localhost:${port}`;
  const tessera = newTessera(url, idp);
  const app = express();
  const reply = (handler: string) => (req: express.Request, res: express.Response) => {
    res.type('application/json').send(appAnswer(handler, req.originalUrl, (req as RequestWithSession).tessera?.sub));
  };
  app.use(tesseraExpress(tessera));
  app.get('/open/admin', expressRequireSession(tessera, { roles: [...guarded.admin.roles] }), reply('open-admin'));
  app.get('/open/mfa', expressRequireSession(tessera, { ...guarded.mfa }), reply('open-mfa'));
  app.get('/admin{/*rest}', reply('admin'));
  app.get('/public{/*rest}', reply('public'));
  app.use(reply('fallback'));
  server.on('request', app);
  return { url, port, close: async () => { await closeServer(server); await tessera.close(); } };
}

async function fastifyApp(idp: DevIdp) {
  const port = await freePort();
  const url = `http://localhost:${port}`;
  const tessera = newTessera(url, idp);
  const app = Fastify();
  await app.register(tesseraFastify(tessera));
  const reply = (handler: string) => async (req: import('fastify').FastifyRequest, rep: import('fastify').FastifyReply) => {
    return rep.type('application/json').send(appAnswer(handler, req.url, req.tessera?.sub));
  };
  app.get('/open/admin', { onRequest: fastifyRequireSession(tessera, { roles: [...guarded.admin.roles] }) }, reply('open-admin'));
  app.get('/open/mfa', { onRequest: fastifyRequireSession(tessera, { ...guarded.mfa }) }, reply('open-mfa'));
  app.get('/admin', reply('admin'));
  app.get('/admin/*', reply('admin'));
  app.get('/public', reply('public'));
  app.get('/public/*', reply('public'));
  app.setNotFoundHandler(reply('fallback'));
  await app.listen({ port, host: '127.0.0.1' });
  return { url, port, close: async () => { await app.close(); await tessera.close(); } };
}

async function honoApp(idp: DevIdp) {
  const server = createServer();
  const port = Number(new URL(await listen(server, 0)).port);
  const url = `http://localhost:${port}`;
  const tessera = newTessera(url, idp);
  const app = new Hono<{ Variables: TesseraVariables }>();
  const reply = (handler: string) => (c: import('hono').Context<{ Variables: TesseraVariables }>) =>
    c.body(appAnswer(handler, new URL(c.req.url).pathname + new URL(c.req.url).search, c.get('tessera')?.sub), 200, { 'content-type': 'application/json' });
  app.use(tesseraHono(tessera));
  app.get('/open/admin', honoRequireSession(tessera, { roles: [...guarded.admin.roles] }), reply('open-admin'));
  app.get('/open/mfa', honoRequireSession(tessera, { ...guarded.mfa }), reply('open-mfa'));
  app.get('/admin', reply('admin'));
  app.get('/admin/*', reply('admin'));
  app.get('/public', reply('public'));
  app.get('/public/*', reply('public'));
  app.notFound(reply('fallback'));
  server.on('request', (req, res) => {
    let webRequest: Request;
    try {
      webRequest = toRequest(req, url);
    } catch {
      // The server (not the adapter) cannot make a Web Request of this target (`//%09/x`: a bad host).
      return void res.writeHead(400, { 'content-type': 'text/plain' }).end('Bad request target.\n');
    }
    void Promise.resolve(app.fetch(webRequest)).then((r) => writeResponse(res, r));
  });
  return { url, port, close: async () => { await closeServer(server); await tessera.close(); } };
}

/** Signs in on `url` in a browser of its own; returns the session cookie. */
async function cookieFor(url: string, username: string): Promise<{ cookie: string; browser: Browser }> {
  const browser = new Browser();
  const page = await browser.signIn(`${url}/auth/login?returnTo=/`, { username, password: username });
  assert.equal(page.status, 200, `sign-in on ${url} ended at ${page.url}`);
  const value = browser.jar.get('tessera', url);
  assert.ok(value, `a session cookie on ${url}`);
  return { cookie: `tessera=${value}`, browser };
}

async function withCookies(name: string, app: { url: string; port: number; close(): Promise<void> }): Promise<Target> {
  const bob = await cookieFor(app.url, 'bob');
  const alice = await cookieFor(app.url, 'alice');
  const doomed = await cookieFor(app.url, 'bob');
  const out = await doomed.browser.request(`${app.url}/auth/logout`, { method: 'POST', headers: { origin: app.url } });
  assert.equal(out.status, 303, `logout on ${name}`);
  return { name, ...app, cookies: { bob: bob.cookie, alice: alice.cookie, dead: doomed.cookie } };
}

type Who = 'anonymous' | 'bob' | 'alice' | 'dead';

/** The parts of an answer that must be the same everywhere; a passed request as who it reached the app as. */
interface Comparable {
  status: number;
  contentType?: string | undefined;
  cacheControl?: string | undefined;
  location?: string | undefined;
  wwwAuthenticate?: string | undefined;
  /** Tessera's own Set-Cookie (clearing a dead session cookie). */
  clearCookie?: string | undefined;
  body?: unknown;
  /** For a passed request: the sub the application saw (null: anonymous). */
  sub?: string | null;
}

async function ask(target: Target, path: string, who: Who, api: boolean, gateway: boolean): Promise<Comparable> {
  const headers: Record<string, string> = api ? { accept: 'application/json' } : { accept: 'text/html,application/xhtml+xml', 'sec-fetch-mode': 'navigate' };
  if (who !== 'anonymous') headers.cookie = target.cookies[who];
  const response = await request(`${target.url}${path}`, { headers });
  const text = await response.body.text();
  const h = response.headers;
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(', ') : v);
  const setCookies = h['set-cookie'] === undefined ? [] : Array.isArray(h['set-cookie']) ? h['set-cookie'] : [h['set-cookie']];
  const clearCookie = setCookies.find((c) => c.startsWith('tessera='));
  if (response.statusCode === 200) {
    const seen = JSON.parse(text) as { sub?: string | null; headers?: Record<string, string> };
    const sub = gateway ? (seen.headers?.['x-tessera-sub'] ?? null) : (seen.sub ?? null);
    return { status: 200, sub, clearCookie };
  }
  // Error pages carry a request id of their own (also in the log line): the same bytes but that.
  let body: unknown = text.replace(/<code id="request-id">[0-9a-f-]{36}<\/code>/g, '<code id="request-id">…</code>');
  if (String(h['content-type']).startsWith('application/json')) body = JSON.parse(text);
  return {
    status: response.statusCode,
    contentType: one(h['content-type']),
    cacheControl: one(h['cache-control']),
    location: one(h.location),
    wwwAuthenticate: one(h['www-authenticate']),
    clearCookie,
    body,
  };
}

/** The requests compared: path, who, API or page. */
const cases: Array<[string, Who, boolean]> = [];
for (const api of [false, true]) {
  cases.push(
    ['/public/page', 'anonymous', api], ['/public/page', 'bob', api], ['/public/page', 'dead', api],
    ['/maybe/page', 'anonymous', api], ['/maybe/page', 'bob', api], ['/maybe/page', 'dead', api],
    ['/reports?q=1', 'anonymous', api], ['/reports', 'bob', api], ['/reports', 'dead', api],
    ['/admin/users', 'anonymous', api], ['/admin/users', 'bob', api], ['/admin/users', 'alice', api],
    ['/pay/charge?x=1', 'alice', api], ['/pay/charge', 'bob', api], ['/pay/charge', 'anonymous', api],
    ['/public/..%2fadmin', 'bob', api], ['/public/%2e%2e/admin', 'bob', api],
  );
}
const guardedCases: Array<[string, Who, boolean]> = [];
for (const api of [false, true]) {
  guardedCases.push(
    ['/open/admin', 'anonymous', api], ['/open/admin', 'bob', api], ['/open/admin', 'alice', api], ['/open/admin', 'dead', api],
    ['/open/mfa', 'anonymous', api], ['/open/mfa', 'bob', api], ['/open/mfa', 'alice', api],
  );
}

describe('route rules in every adapter answer as the gateway does', () => {
  let idp: DevIdp;
  let dataDir: string;
  let stack: Stack;
  let gateway: Target;
  const targets: Target[] = [];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-adapter-rules-'));
    idp = await startDevIdp({ port: 0, dataDir, quiet: true });
    stack = await startStack({ idp, options: { routes: gatewayRules } });
    gateway = await withCookies('gateway', { url: stack.url, port: Number(new URL(stack.url).port), close: async () => {} });
    const apps = await Promise.all([nodeApp(idp), expressApp(idp), fastifyApp(idp), honoApp(idp)]);
    for (const [i, name] of ['node', 'express', 'fastify', 'hono'].entries()) targets.push(await withCookies(name, apps[i]!));
  });
  after(async () => {
    for (const t of targets) await t.close();
    await stack?.close();
    await idp?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function compare(list: Array<[string, Who, boolean]>, name: string) {
    const target = targets.find((t) => t.name === name)!;
    const differences: string[] = [];
    for (const [path, who, api] of list) {
      const expected = await ask(gateway, path, who, api, true);
      const actual = await ask(target, path, who, api, false);
      const fields = [...new Set([...Object.keys(expected), ...Object.keys(actual)])] as Array<keyof Comparable>;
      const differing = fields.filter((f) => JSON.stringify(actual[f]) !== JSON.stringify(expected[f]));
      if (differing.length > 0) {
        const show = (c: Comparable) => JSON.stringify(Object.fromEntries(differing.map((f) => [f, c[f]])));
        differences.push(`${api ? 'API ' : 'page'} ${path} as ${who} (${expected.status}): gateway ${show(expected)}, ${name} ${show(actual)}`);
      }
    }
    assert.deepEqual(differences, [], `${name} answers differently from the gateway:\n  ${differences.join('\n  ')}`);
  }

  test('the gateway itself answers as the contract says (sanity for the comparison)', async () => {
    assert.equal((await ask(gateway, '/public/page', 'bob', false, true)).sub, null);
    assert.equal((await ask(gateway, '/maybe/page', 'bob', false, true)).sub, 'bob');
    assert.match(String((await ask(gateway, '/maybe/page', 'dead', false, true)).clearCookie), /^tessera=;/);
    assert.equal((await ask(gateway, '/admin/users', 'bob', true, true)).status, 403);
    const stepUp = await ask(gateway, '/pay/charge', 'alice', true, true);
    assert.equal(stepUp.status, 401);
    assert.equal((stepUp.body as { error: string }).error, 'insufficient_user_authentication');
    assert.match(String(stepUp.wwwAuthenticate), /acr_values="mfa"/);
    assert.equal((await ask(gateway, '/open/admin', 'bob', false, true)).status, 403);
    assert.equal((await ask(gateway, '/public/..%2fadmin', 'bob', true, true)).status, 400);
  });

  for (const name of ['node', 'express', 'fastify', 'hono']) {
    test(`${name}: public, optional, required, roles and step-up as the gateway`, async () => {
      await compare(cases, name);
    });

    test(`${name}: requireSession({ roles }) and requireSession({ acr, maxAge }) as the gateway's rules`, async () => {
      await compare(guardedCases, name);
      // The guard passes the session on to the handler.
      const target = targets.find((t) => t.name === name)!;
      assert.equal((await ask(target, '/open/admin', 'alice', false, false)).sub, 'alice');
    });

    test(`${name}: requireSession({ acr: "mfa" }) steps a password sign-in up through the OTP, back to the route, with a new session`, async () => {
      const target = targets.find((t) => t.name === name)!;
      const { browser, cookie: before } = await cookieFor(target.url, 'alice');
      const page = await browser.signIn(`${target.url}/open/mfa?from=test`, { username: 'alice', password: 'alice', otp: '123456' });
      assert.equal(page.status, 200, `ended at ${page.url}`);
      assert.deepEqual(JSON.parse(page.text), { handler: 'open-mfa', url: '/open/mfa?from=test', sub: 'alice' });
      const after = `tessera=${browser.jar.get('tessera', target.url)}`;
      assert.notEqual(after, before, 'a new session id');
      const session = await (await fetch(`${target.url}/auth/session`, { headers: { accept: 'application/json', cookie: after } })).json() as { acr?: string };
      assert.equal(session.acr, 'mfa');
      assert.equal((await fetch(`${target.url}/auth/session`, { headers: { accept: 'application/json', cookie: before } })).status, 401, 'the old cookie is dead');
    });
  }

  describe('the application routes on the path the rule matched', () => {
    for (const name of ['node', 'express', 'fastify', 'hono']) {
      test(`${name}: a spelling the public rule admits never runs the admin handler`, async () => {
        const target = targets.find((t) => t.name === name)!;
        const problems: string[] = [];
        for (const spelling of ['/admin/%2e%2e/public', '/admin/%2E%2E/public/x', '/admin/.%2e/public', '/admin/x/%2e%2e/%2e%2e/public']) {
          for (const who of ['anonymous', 'bob'] as const) {
            const headers: Record<string, string> = { accept: 'application/json' };
            if (who === 'bob') headers.cookie = target.cookies.bob;
            const answer = await rawRequest(target.port, spelling, { headers });
            if (answer.status !== 200) continue; // refused: fine
            const seen = JSON.parse(answer.body) as { handler: string; url: string; sub: string | null };
            if (seen.handler === 'admin' || !seen.url.startsWith('/public')) {
              problems.push(`${spelling} as ${who} → 200 from the "${seen.handler}" handler, which routed on ${JSON.stringify(seen.url)} (the rule matched /public…)`);
            }
          }
        }
        assert.deepEqual(problems, [], `the public rule let these reach the application under a path outside /public:\n  ${problems.join('\n  ')}`);
      });

      test(`${name}: property — a spelling is refused, redirected once to its canonical path, or handled under the rule that admitted it`, async () => {
        const target = targets.find((t) => t.name === name)!;
        // Case variants and ";" parameters have tests of their own (here and in path-property.test.ts).
        await fc.assert(fc.asyncProperty(requestPlan({ params: false, caseVariants: false }), async (plan) => {
          const sent = targetOf(plan);
          const headers: Record<string, string> = plan.api ? { accept: 'application/json' } : { accept: 'text/html', 'sec-fetch-mode': 'navigate' };
          if (plan.who === 'bob') headers.cookie = target.cookies.bob;
          let answer = await rawRequest(target.port, sent, { headers });
          let what = `${JSON.stringify(sent)} as ${plan.who} → ${answer.status}`;
          if (answer.status === 308) {
            const location = header(answer, 'location') ?? '';
            assert.ok(location.startsWith('/') && !location.startsWith('//'), `a same-origin redirect: ${what} to ${JSON.stringify(location)}`);
            assert.equal(nonCanonical(location.split('?')[0]!), undefined, `to a canonical path: ${what} to ${JSON.stringify(location)}`);
            answer = await rawRequest(target.port, location, { headers });
            what += ` → ${JSON.stringify(location)} → ${answer.status}`;
            assert.notEqual(answer.status, 308, `one redirect only: ${what}`);
          }
          if (answer.status !== 200) {
            assert.ok([302, 400, 401, 403].includes(answer.status), `refused with an expected status: ${what}`);
            if (answer.status === 302) assert.match(header(answer, 'location') ?? '', /^\/auth\/login\?/, what);
            return;
          }
          const seen = JSON.parse(answer.body) as { handler: string; url: string; sub: string | null };
          what += ` ${seen.handler} handler on ${JSON.stringify(seen.url)}`;
          assert.notEqual(seen.handler, 'admin', `the admin handler ran without the admin role: ${what}`);
          for (const reading of ['raw', 'decoded'] as const) {
            const read = readings[reading](seen.url.split('?')[0]!);
            assert.ok(!isUnder(read, '/admin'), `reached /admin (read ${reading}): ${what}`);
            if (seen.sub === null) assert.ok(isUnder(read, '/public'), `admitted without a session outside /public (read ${reading}): ${what}`);
          }
        }), { numRuns: 150 });
      });

      test(`${name}: a differently-cased /admin does not run the admin handler for bob`, async () => {
        const target = targets.find((t) => t.name === name)!;
        const problems: string[] = [];
        for (const spelling of ['/ADMIN', '/Admin/users', '/aDmIn']) {
          const answer = await rawRequest(target.port, spelling, { headers: { accept: 'application/json', cookie: target.cookies.bob } });
          if (answer.status === 200 && (JSON.parse(answer.body) as { handler: string }).handler === 'admin') problems.push(spelling);
        }
        assert.deepEqual(problems, [], `bob (no admin role) ran the admin handler through ${problems.join(', ')}: the rule matcher is case-sensitive, the framework's router is not`);
      });
    }
  });
});
