// The ceiling for gateway mode: a bare node:http reverse proxy over an undici Pool (anchors/bareproxy.mjs).
import http from 'node:http';
import { Pool } from 'undici';
import { ready } from './ready.mjs';
const port = Number(process.env.PORT ?? 4500);
const pool = new Pool(process.env.UPSTREAM ?? 'http://127.0.0.1:9000', { connections: 64, pipelining: 1 });
http.createServer(async (req, res) => {
  try {
    const r = await pool.request({ path: req.url, method: req.method, headers: { 'x-user': 'alice' } });
    res.writeHead(r.statusCode, { 'content-type': r.headers['content-type'] || 'text/plain' });
    for await (const chunk of r.body) res.write(chunk);
    res.end();
  } catch { res.writeHead(502); res.end(); }
}).listen(port, '127.0.0.1', () => ready({ port }));
