import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { tesseraFastify } from '../../src/adapters/fastify.js';
import { tesseraHono, type TesseraVariables } from '../../src/adapters/hono.js';
import { toRequest, writeResponse } from '../../src/adapters/node-bridge.js';
import { freePort } from '../helpers/ports.js';
import { startDevIdp, type DevIdp } from '../../src/dev-idp/index.js';
import { tesseraExpress } from '../../src/adapters/express.js';
import { tesseraMiddleware, type RequestWithSession } from '../../src/adapters/node.js';
import { generateKeyEntry } from '../../src/keys/index.js';
import { memoryStore } from '../../src/stores/index.js';
import { createTessera, type Tessera, internalsOf } from '../../src/tessera.js';
import { Browser } from '../helpers/browser.js';
import { closeServer, listen, testLogLevel } from '../helpers/stack.js';

/** A Tessera instance at `url` against the dev IdP (memory store), at the test runner's log level. */
function tesseraAt(url: string, idp: DevIdp): Tessera {
  return createTessera({
    publicUrl: url, issuer: idp.issuer, discoveryUrl: idp.discoveryUrl, clientId: 'tessera-dev',
    clientSecret: 'tessera-dev-secret', keys: generateKeyEntry(), logLevel: testLogLevel(),
  }, { store: memoryStore() });
}

async function serve(makeHandler: (tessera: Tessera) => Parameters<typeof createServer>[1], idp: DevIdp) {
  const server = createServer();
  const port = Number(new URL(await listen(server, 0)).port);
  const url = `http://localhost:${port}`;
  const tessera = tesseraAt(url, idp);
  server.on('request', makeHandler(tessera)!);
  return { url, server, tessera };
}

describe('framework adapters', () => {
  let idp: DevIdp;
  const servers: Server[] = [];
  before(async () => { idp = await startDevIdp({ port: 0, dataDir: mkdtempSync(join(tmpdir(), 'tessera-adapters-')), quiet: true }); });
  after(async () => { for (const s of servers) await closeServer(s); await idp.close(); });

  test('Express: /auth/* is served, req.tessera carries the session, anonymous pages redirect and APIs get 401', async () => {
    const { url, server } = await serve((tessera) => {
      const app = express();
      app.use(tesseraExpress(tessera));
      app.get('/whoami', (req, res) => { res.json({ sub: (req as RequestWithSession).tessera?.sub, roles: (req as RequestWithSession).tessera?.roles }); });
      return app;
    }, idp);
    servers.push(server);
    const anonymous = await fetch(`${url}/whoami`, { headers: { accept: 'application/json' } });
    assert.equal(anonymous.status, 401);
    assert.equal((await anonymous.json()).error, 'login_required');
    const browser = new Browser();
    assert.equal((await browser.request(`${url}/whoami`)).status, 302);
    const page = await browser.signIn(`${url}/auth/login?returnTo=/whoami`, { username: 'bob', password: 'bob' });
    assert.deepEqual(JSON.parse(page.text), { sub: 'bob', roles: ['user'] });
  });

  test('node:http: the middleware calls next() only with a session; required:false lets anonymous requests through', async () => {
    let strict = true;
    const { url, server } = await serve((tessera) => {
      const required = tesseraMiddleware(tessera);
      const optional = tesseraMiddleware(tessera, { required: false });
      return (req, res) => {
        const next = () => res.writeHead(200, { 'content-type': 'text/plain' }).end(`user=${(req as RequestWithSession).tessera?.sub ?? 'anonymous'}`);
        void (strict ? required : optional)(req, res, next);
      };
    }, idp);
    servers.push(server);
    const browser = new Browser();
    assert.equal((await browser.request(`${url}/`)).status, 302);
    strict = false;
    assert.equal((await browser.request(`${url}/`)).text, 'user=anonymous');
    strict = true;
    const page = await browser.signIn(`${url}/auth/login`, { username: 'alice', password: 'alice' });
    assert.equal(page.text, 'user=alice');
  });

  test('Hono: /auth/* is served from the Web Request, c.get("tessera") carries the session, APIs get 401', async () => {
    const { url, server } = await serve((tessera) => {
      const app = new Hono<{ Variables: TesseraVariables }>();
      app.use(tesseraHono(tessera));
      app.get('/whoami', (c) => c.json({ sub: c.get('tessera')?.sub }));
      return (req, res) => void Promise.resolve(app.fetch(toRequest(req, internalsOf(tessera).config.publicUrl))).then((r) => writeResponse(res, r));
    }, idp);
    servers.push(server);
    const anonymous = await fetch(`${url}/whoami`, { headers: { accept: 'application/json' } });
    assert.equal(anonymous.status, 401);
    assert.equal((await anonymous.json()).login_url, '/auth/login?returnTo=%2Fwhoami');
    const browser = new Browser();
    assert.equal((await browser.request(`${url}/whoami`)).headers.get('location'), '/auth/login?returnTo=%2Fwhoami&silent=1');
    const page = await browser.signIn(`${url}/auth/login?returnTo=/whoami`, { username: 'alice', password: 'alice' });
    assert.deepEqual(JSON.parse(page.text), { sub: 'alice' });
  });

  test('Fastify: the plugin answers /auth/* before body parsing and sets request.tessera', async () => {
    const port = await freePort();
    const url = `http://localhost:${port}`;
    const tessera = tesseraAt(url, idp);
    const app = Fastify();
    await app.register(tesseraFastify(tessera));
    app.get('/whoami', async (request) => ({ sub: request.tessera?.sub }));
    await app.listen({ port, host: '127.0.0.1' });
    try {
      const anonymous = await fetch(`${url}/whoami`, { headers: { accept: 'application/json' } });
      assert.equal(anonymous.status, 401);
      const browser = new Browser();
      assert.equal((await browser.request(`${url}/whoami`)).status, 302);
      const page = await browser.signIn(`${url}/auth/login?returnTo=/whoami`, { username: 'bob', password: 'bob' });
      assert.deepEqual(JSON.parse(page.text), { sub: 'bob' });
      const form = await browser.request(`${url}/auth/logout`);
      assert.equal(form.status, 200);
      const out = await browser.request(`${url}/auth/logout`, { method: 'POST', headers: { origin: url } });
      assert.equal(out.status, 303);
      assert.equal((await browser.request(`${url}/whoami`)).status, 302);
    } finally {
      await app.close();
    }
  });
});
