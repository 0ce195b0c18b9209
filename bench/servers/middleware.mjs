// Middleware mode: one process serving four ports, so that the handlers are all that differ —
// same process, same heap, same core placement:
//   PORT      bare node:http handler
//   PORT + 1  node:http handler that calls tessera.authenticate(cookie) first
//   PORT + 2  bare Express 4
//   PORT + 3  Express 4 with tesseraExpress in front of the same route
// The Tessera ports also serve /auth/* (so the scripted browser can sign in) through the library's
// own adapters. Configuration comes from TESSERA_* as for `tessera serve` (TESSERA_PORT is unused).
import http from 'node:http';
import express from 'express';
import { createTessera, loadConfig, openStore } from '../../dist/index.js';
import { tesseraMiddleware } from '../../dist/adapters/node.js';
import { tesseraExpress } from '../../dist/adapters/express.js';
import { ready } from './ready.mjs';

const port = Number(process.env.PORT ?? 4400);
const config = loadConfig(process.env);
const prefix = process.env.BENCH_REDIS_PREFIX;
const store = openStore(config.store, prefix && config.store.startsWith('redis') ? { prefix } : {});
const tessera = createTessera(config, { store });
const listen = (server, p) => new Promise((resolve) => server.listen(p, '127.0.0.1', resolve));
const notFound = (res) => () => res.writeHead(404).end();

// 1. The bare handler.
const bare = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ok alice');
});

// 2. The same handler behind authenticate(): what an application writes with the library alone.
const authRoutes = tesseraMiddleware(tessera);
const checked = http.createServer(async (req, res) => {
  if (req.url.startsWith('/auth/')) return authRoutes(req, res, notFound(res));
  const result = await tessera.authenticate(req.headers.cookie);
  if (!result.authenticated) {
    const headers = { location: tessera.loginUrl(req.url, result.renew), 'cache-control': 'no-store' };
    if (result.clearCookie) headers['set-cookie'] = result.clearCookie;
    return void res.writeHead(302, headers).end();
  }
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(`ok ${result.session.sub}`);
});

// 3. and 4. Express 4, bare and with tesseraExpress.
const bareExpress = express();
bareExpress.get('/', (req, res) => res.type('text').send('ok alice'));
const checkedExpress = express();
checkedExpress.use(tesseraExpress(tessera));
checkedExpress.get('/', (req, res) => res.type('text').send(`ok ${req.tessera.sub}`));


const servers = [bare, checked, http.createServer(bareExpress), http.createServer(checkedExpress)];
for (const server of servers) server.keepAliveTimeout = 65_000;
await Promise.all(servers.map((server, i) => listen(server, port + i)));
ready({ ports: [port, port + 1, port + 2, port + 3] });
