import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the server answers: normally, with an HTTP status, by dropping the connection, or never. */
export type JwksServerMode = 'ok' | { status: number; body?: string } | 'reset' | 'hang';

export interface JwksServer {
  /** The JWKS URL (any path on the server answers the same). */
  readonly url: string;
  /** Requests received so far. */
  readonly fetches: number;
  /** Replaces the key set served from now on. */
  setKeys(jwks: { keys: object[] }): void;
  /** Makes the server fail (`{ status: 503 }`, `'reset'`, `'hang'`) or recover (`'ok'`). */
  setMode(mode: JwksServerMode): void;
  resetCount(): void;
  close(): Promise<void>;
}

/** A real JWKS endpoint on 127.0.0.1 (port 0) for tests. */
export async function startJwksServer(initial: { keys: object[] } = { keys: [] }): Promise<JwksServer> {
  let body = JSON.stringify(initial);
  let mode: JwksServerMode = 'ok';
  let fetches = 0;

  const server: Server = createServer((req, res) => {
    fetches += 1;
    if (mode === 'reset') {
      req.socket.destroy();
      return;
    }
    if (mode === 'hang') return;
    if (mode !== 'ok') {
      res.writeHead(mode.status, { 'content-type': 'application/json' }).end(mode.body ?? '{"error":"unavailable"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/jwks`,
    get fetches() {
      return fetches;
    },
    setKeys(jwks) {
      body = JSON.stringify(jwks);
    },
    setMode(next) {
      mode = next;
    },
    resetCount() {
      fetches = 0;
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
