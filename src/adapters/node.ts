import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DecideOptions, Requirement } from '../app/decision.js';
import type { Session } from '../session/manager.js';
import type { Tessera } from '../tessera.js';
import { nodeFacts, passOn, sendDenial, writeResponse } from './node-bridge.js';

export type MiddlewareOptions = Pick<DecideOptions, 'required'>;
export type { Requirement };

/** The one field the middleware sets: `req.tessera`, the authenticated session. */
export type RequestWithSession = IncomingMessage & { tessera?: Session };

type Next = (err?: unknown) => void;

/**
 * `node:http` middleware (also Express/Connect): serves `/auth/*`, applies the route rules, sets
 * `req.tessera` and calls `next()` — or answers the core's denial (login redirect, 401 JSON, 403,
 * step-up, 503).
 */
export function tesseraMiddleware(tessera: Tessera, options: MiddlewareOptions = {}) {
  return middleware(tessera, options);
}

/** A per-route guard: `requireSession(tessera, { roles: ['admin'], acr: 'mfa', maxAge: 600 })`, answering as the gateway does. */
export function requireSession(tessera: Tessera, requirement: Requirement = {}) {
  return middleware(tessera, { require: requirement });
}

function middleware(tessera: Tessera, options: DecideOptions) {
  return async function tesseraHandler(req: RequestWithSession, res: ServerResponse, next: Next): Promise<void> {
    try {
      const decision = await tessera.decide(nodeFacts(req, tessera.publicUrl), options);
      if (decision.kind === 'respond') return await writeResponse(res, decision.response);
      if (decision.kind === 'deny') return sendDenial(res, decision.denial);
      passOn(res, decision);
      if (decision.session) req.tessera = decision.session;
      next();
    } catch (err) {
      next(err);
    }
  };
}
