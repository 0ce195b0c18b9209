import { createServer } from 'node:http';
import { createTessera, loadConfig } from 'tessera';
import { tesseraMiddleware } from 'tessera/node';

const config = loadConfig(process.env);
const tessera = createTessera(config);
const withSession = tesseraMiddleware(tessera); // every path outside /auth/* needs a session

const server = createServer((req, res) => {
  withSession(req, res, (err) => {
    if (err) {
      res.writeHead(500).end();
      return;
    }
    // Only signed-in requests get here: `req.tessera` is the session.
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<p>Hello ${req.tessera.sub} (roles ${req.tessera.roles.join(', ') || 'none'}), you asked for ${req.url}. <a href="/auth/logout">Sign out</a></p>`);
  });
});

server.listen(config.port, config.host, () => console.log(`node-http example listening on ${config.publicUrl}`));
