import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Decision, DecideOptions, RequestFacts, Requirement } from '../app/decision.js';
import type { Denial } from '../app/denials.js';
import type { Session } from '../session/manager.js';
import type { Tessera } from '../tessera.js';
import { toRequest, writeResponse } from './node-bridge.js';

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

/** A node request as the core reads it (Express's `originalUrl` when mounted below the root). */
export function nodeFacts(req: IncomingMessage, publicUrl: string, cookie: string | undefined = req.headers.cookie): RequestFacts {
  return {
    url: (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/',
    method: req.method,
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

/** What a passing decision adds to the response: the clearing of a dead cookie on optional routes. */
export function passOn(res: ServerResponse, decision: Extract<Decision, { kind: 'pass' }>): void {
  if (decision.clearCookie !== undefined) res.appendHeader('set-cookie', decision.clearCookie);
}
