import type { Tessera } from '../tessera.js';
import { tesseraMiddleware, type MiddlewareOptions } from './node.js';

/**
 * Express middleware: `app.use(tesseraExpress(tessera))`. A thin bridge to the node middleware;
 * it sets only `req.tessera` and never wraps `res`.
 */
export function tesseraExpress(tessera: Tessera, options: MiddlewareOptions = {}) {
  const handler = tesseraMiddleware(tessera, options);
  return (req: Parameters<typeof handler>[0], res: Parameters<typeof handler>[1], next: Parameters<typeof handler>[2]) => {
    void handler(req, res, next);
  };
}

export type { MiddlewareOptions, RequestWithSession } from './node.js';
