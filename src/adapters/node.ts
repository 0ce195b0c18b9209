import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Session } from '../session/manager.js';
import type { Tessera } from '../tessera.js';
import { isApiRequest } from '../app/request-kind.js';
import { toRequest, writeResponse } from './node-bridge.js';
import { isTesseraError } from '../errors.js';
import { loginRequired, storeUnavailable, type Denial } from '../app/denials.js';

export interface MiddlewareOptions {
  /** When false, anonymous requests pass through with no `tessera` field. Default true. */
  required?: boolean;
}

/** The one field the middleware sets: `req.tessera`, the authenticated session. */
export type RequestWithSession = IncomingMessage & { tessera?: Session };

type Next = (err?: unknown) => void;

/**
 * `node:http` middleware (also works as Express/Connect middleware): serves `/auth/*`, and for
 * every other request checks the session cookie. Authenticated → `req.tessera` is set and
 * `next()` runs; anonymous → pages are redirected to login, API requests get 401 JSON.
 */
export function tesseraMiddleware(tessera: Tessera, options: MiddlewareOptions = {}) {
  const required = options.required ?? true;
  return async function tesseraHandler(req: RequestWithSession, res: ServerResponse, next: Next): Promise<void> {
    try {
      const url = req.url ?? '/';
      if (url.startsWith('/auth/')) {
        const response = await tessera.handle(toRequest(req, tessera.config.publicUrl));
        if (response) return await writeResponse(res, response);
        return next();
      }
      const result = await tessera.authenticate(req.headers.cookie);
      if (result.authenticated) {
        req.tessera = result.session;
        return next();
      }
      if (!required) return next();
      denyAnonymous(req, res, tessera.loginUrl(url, result.renew), result.clearCookie);
    } catch (err) {
      if (isTesseraError(err) && err.status === 503) {
        unavailable(req, res);
        return;
      }
      next(err);
    }
  };
}

/** The page/API rule for a request without a valid session. */
export function denyAnonymous(req: IncomingMessage, res: ServerResponse, loginUrl: string, clearCookie: string | undefined): void {
  send(res, loginRequired(isApiRequest((name) => header(req, name)), loginUrl, clearCookie));
}

/** A store outage: a clear 503, never a 401 that would look like a logout. */
export function unavailable(req: IncomingMessage, res: ServerResponse): void {
  send(res, storeUnavailable(isApiRequest((name) => header(req, name))));
}

function send(res: ServerResponse, denial: Denial): void {
  res.writeHead(denial.status, denial.headers).end(denial.body);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
