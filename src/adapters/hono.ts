import type { MiddlewareHandler } from 'hono';
import { toResponse } from '../app/denials.js';
import type { Session } from '../session/manager.js';
import type { Tessera } from '../tessera.js';
import type { MiddlewareOptions } from './node.js';

/** Hono's context variable the middleware sets: `c.get('tessera')`. */
export type TesseraVariables = { tessera: Session | undefined };

/** Hono middleware: `app.use(tesseraHono(tessera))`. Hono speaks Web `Request`/`Response`, as the core does. */
export function tesseraHono(tessera: Tessera, options: MiddlewareOptions = {}): MiddlewareHandler<{ Variables: TesseraVariables }> {
  return async (c, next) => {
    const url = new URL(c.req.url);
    const decision = await tessera.decide({
      url: url.pathname + url.search,
      cookie: c.req.header('cookie'),
      header: (name) => c.req.header(name),
      request: () => c.req.raw,
    }, options);
    if (decision.kind === 'respond') return decision.response;
    if (decision.kind === 'deny') return toResponse(decision.denial);
    c.set('tessera', decision.session);
    return next();
  };
}
