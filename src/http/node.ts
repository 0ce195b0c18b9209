import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Session } from '../session/manager.js';
import type { Tessera } from '../tessera.js';
import { isApiRequest } from './request-kind.js';
import { toRequest, writeResponse } from './node-bridge.js';
import { isTesseraError } from '../errors.js';
import { messagePage } from './pages.js';

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
  const headers: Record<string, string | string[]> = { 'cache-control': 'no-store' };
  if (clearCookie) headers['set-cookie'] = clearCookie;
  if (isApiRequest((name) => header(req, name))) {
    headers['content-type'] = 'application/json';
    res.writeHead(401, headers).end(JSON.stringify({ error: 'login_required', login_url: loginUrl }));
    return;
  }
  headers.location = loginUrl;
  res.writeHead(302, headers).end();
}

const unavailableMessage = 'The session store is not answering right now. Please try again in a moment.';

/**
 * A store outage: a clear 503 (the same page or JSON the `/auth/*` routes give), never a 401 that
 * would look like a logout, and the cookie is left alone.
 */
export function unavailable(req: IncomingMessage, res: ServerResponse): void {
  const headers = { 'cache-control': 'no-store', 'retry-after': '5', 'x-content-type-options': 'nosniff' };
  if (isApiRequest((name) => header(req, name))) {
    res.writeHead(503, { ...headers, 'content-type': 'application/json' })
      .end(JSON.stringify({ error: 'temporarily_unavailable', error_description: unavailableMessage }));
    return;
  }
  res.writeHead(503, {
    ...headers,
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  }).end(messagePage('Temporarily unavailable', unavailableMessage));
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
