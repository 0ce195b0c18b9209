import type { Server } from 'node:http';

/** How often a draining server closes the connections that went idle since the last look. */
const sweepEveryMs = 50;

/**
 * Graceful close of one listener: stop accepting at once, close idle keep-alive connections at
 * once and each busy one as soon as its response is done (a keep-alive client never holds the
 * process for the keep-alive timeout), answer requests that still arrive on open connections with
 * `Connection: close`, and after `timeoutMs` close whatever is left.
 */
export function drain(server: Server, timeoutMs: number): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const closeAfter = (_req: unknown, res: { shouldKeepAlive: boolean }) => {
      res.shouldKeepAlive = false;
    };
    server.prependListener('request', closeAfter);
    const sweep = setInterval(() => server.closeIdleConnections(), sweepEveryMs);
    const force = setTimeout(() => server.closeAllConnections(), timeoutMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(force);
      server.off('request', closeAfter);
      resolve();
    });
    server.closeIdleConnections();
  });
}
