import type { MiddlewareHandler } from 'hono';
import { isTesseraError } from '../errors.js';
import type { Session } from '../session/manager.js';
import type { Tessera } from '../tessera.js';
import { loginRequired, storeUnavailable, toResponse } from '../app/denials.js';
import type { MiddlewareOptions } from './node.js';
import { isApiRequest } from '../app/request-kind.js';

/** Hono's context variable the middleware sets: `c.get('tessera')`. */
export type TesseraVariables = { tessera: Session | undefined };

/**
 * Hono middleware: `app.use(tesseraHono(tessera))`. Hono speaks Web `Request`/`Response`, so
 * `/auth/*` goes straight to the core handler.
 */
export function tesseraHono(tessera: Tessera, options: MiddlewareOptions = {}): MiddlewareHandler<{ Variables: TesseraVariables }> {
  const required = options.required ?? true;
  return async (c, next) => {
    const api = () => isApiRequest((name) => c.req.header(name));
    try {
      if (c.req.path.startsWith('/auth/')) {
        const response = await tessera.handle(c.req.raw);
        if (response) return response;
      }
      const result = await tessera.authenticate(c.req.header('cookie'));
      if (result.authenticated) {
        c.set('tessera', result.session);
        return next();
      }
      if (!required) return next();
      const url = new URL(c.req.url);
      return toResponse(loginRequired(api(), tessera.loginUrl(url.pathname + url.search, result.renew), result.clearCookie));
    } catch (err) {
      if (isTesseraError(err) && err.status === 503) return toResponse(storeUnavailable(api()));
      throw err;
    }
  };
}
