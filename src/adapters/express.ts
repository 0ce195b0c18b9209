import type { Tessera } from '../tessera.js';
import { requireSession as nodeRequireSession, tesseraMiddleware, type MiddlewareOptions, type Requirement } from './node.js';

type Handler = ReturnType<typeof tesseraMiddleware>;

/**
 * Express middleware: `app.use(tesseraExpress(tessera))`. A thin bridge to the node middleware;
 * it sets only `req.tessera` and never wraps `res`.
 */
export function tesseraExpress(tessera: Tessera, options: MiddlewareOptions = {}) {
  return express(tesseraMiddleware(tessera, options));
}

/** A per-route guard: `app.get('/admin', requireSession(tessera, { roles: ['admin'], acr: 'mfa' }), handler)`. */
export function requireSession(tessera: Tessera, requirement: Requirement = {}) {
  return express(nodeRequireSession(tessera, requirement));
}

function express(handler: Handler) {
  return (req: Parameters<Handler>[0], res: Parameters<Handler>[1], next: Parameters<Handler>[2]) => {
    void handler(req, res, next);
  };
}

export type { MiddlewareOptions, RequestWithSession, Requirement } from './node.js';
