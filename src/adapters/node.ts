import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DecideOptions, RequestFacts } from '../app/decision.js';
import type { Denial } from '../app/denials.js';
import type { Session } from '../session/manager.js';
import type { Tessera } from '../tessera.js';
import { toRequest, writeResponse } from './node-bridge.js';

export type MiddlewareOptions = DecideOptions;

/** The one field the middleware sets: `req.tessera`, the authenticated session. */
export type RequestWithSession = IncomingMessage & { tessera?: Session };

type Next = (err?: unknown) => void;

/**
 * `node:http` middleware (also Express/Connect): serves `/auth/*`; for every other request sets
 * `req.tessera` and calls `next()`, or answers the core's denial (login redirect, 401 JSON, 503).
 */
export function tesseraMiddleware(tessera: Tessera, options: MiddlewareOptions = {}) {
  return async function tesseraHandler(req: RequestWithSession, res: ServerResponse, next: Next): Promise<void> {
    try {
      const decision = await tessera.decide(nodeFacts(req, tessera.publicUrl), options);
      if (decision.kind === 'respond') return await writeResponse(res, decision.response);
      if (decision.kind === 'deny') return sendDenial(res, decision.denial);
      if (decision.session) req.tessera = decision.session;
      next();
    } catch (err) {
      next(err);
    }
  };
}

/** A node request as the core reads it. */
export function nodeFacts(req: IncomingMessage, publicUrl: string, cookie: string | undefined = req.headers.cookie): RequestFacts {
  return {
    url: req.url ?? '/',
    cookie,
    header: (name) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    },
    request: () => toRequest(req, publicUrl),
  };
}

export function sendDenial(res: ServerResponse, denial: Denial): void {
  res.writeHead(denial.status, denial.headers).end(denial.body);
}
