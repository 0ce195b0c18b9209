// Tessera's own proxy (src/gateway/proxy.ts) with fixed identity headers and no session check:
// the gateway minus Tessera's per-request work, so the table can show what the session check costs.
import http from 'node:http';
import { UpstreamProxy } from '../../dist/gateway/proxy.js';
import { silentLogger } from '../../dist/observability/log.js';
import { ready } from './ready.mjs';
const port = Number(process.env.PORT ?? 4510);
const proxy = new UpstreamProxy({
  upstream: process.env.UPSTREAM ?? 'http://127.0.0.1:9000',
  maxBodyBytes: 10 * 1024 * 1024,
  sendTimeoutMs: 30_000,
  allowUnderscoreHeaders: false,
  publicUrl: `http://localhost:${port}`,
  isTesseraCookie: (name) => name === 'tessera',
  logger: silentLogger,
});
const identity = { sub: 'alice', roles: ['admin', 'user'], tid: 'tenant', ref: 'AAAAAAAAAAAAAAAAAAAAAA', acr: 'pwd', amr: ['pwd'] };
const peer = { address: '127.0.0.1', trusted: false, client: '127.0.0.1' };
const server = http.createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 30_000 }, (req, res) => void proxy.forward(req, res, { identity, peer, forwardedFor: undefined, sessionId: undefined, target: req.url }));
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => ready({ port }));
