import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createTessera, loadConfig } from 'tessera';
import { tesseraMiddleware } from 'tessera/node';

// The page and its script are public; /api/* needs a session, /api/admin a sign-in with MFA.
// (Defaults: TESSERA_ROUTES in the environment replaces them.)
const routes = [
  { path: '/', exact: true, auth: 'none' },
  { path: '/app.js', auth: 'none' },
  { path: '/api/admin', acr: 'mfa' },
];
const config = loadConfig(process.env, undefined, {}, { TESSERA_ROUTES: JSON.stringify(routes) });
const tessera = createTessera(config);
const withSession = tesseraMiddleware(tessera);

const files = {
  '/': ['text/html', readFileSync(new URL('index.html', import.meta.url))],
  '/app.js': ['text/javascript', readFileSync(new URL('app.js', import.meta.url))],
};
const json = (res, body) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));

const server = createServer((req, res) => {
  withSession(req, res, (err) => {
    if (err) return res.writeHead(500).end();
    const path = new URL(req.url, 'http://x').pathname;
    if (files[path]) return res.writeHead(200, { 'content-type': files[path][0] }).end(files[path][1]);
    if (path === '/api/me') return json(res, { sub: req.tessera.sub, roles: req.tessera.roles, acr: req.tessera.acr ?? null });
    if (path === '/api/admin') return json(res, { secret: 'admin data', acr: req.tessera.acr });
    res.writeHead(404).end();
  });
});

server.listen(config.port, config.host, () => console.log(`spa example listening on ${config.publicUrl}`));
