// The application behind every proxy: `200 ok` (anchors/upstream.mjs).
import http from 'node:http';
import { ready } from './ready.mjs';
const port = Number(process.env.PORT ?? 9000);
http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('ok'); }).listen(port, '127.0.0.1', () => ready({ port }));
