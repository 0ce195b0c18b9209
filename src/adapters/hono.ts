import type { Context, MiddlewareHandler } from 'hono';
import type { DecideOptions, Requirement } from '../app/decision.js';
import { toResponse } from '../app/denials.js';
import type { Session } from '../session/manager.js';
import type { Tessera } from '../tessera.js';
import type { MiddlewareOptions } from './node.js';

/** Hono's context variable the middleware sets: `c.get('tessera')`. */
export type TesseraVariables = { tessera: Session | undefined };
type Middleware = MiddlewareHandler<{ Variables: TesseraVariables }>;

/** Hono middleware: `app.use(tesseraHono(tessera))`. Hono speaks Web `Request`/`Response`, as the core does. */
export function tesseraHono(tessera: Tessera, options: MiddlewareOptions = {}): Middleware {
  return middleware(tessera, options);
}

/** A per-route guard: `app.get('/admin', requireSession(tessera, { roles: ['admin'], acr: 'mfa' }), handler)`. */
export function requireSession(tessera: Tessera, requirement: Requirement = {}): Middleware {
  return middleware(tessera, { require: requirement });
}

function middleware(tessera: Tessera, options: DecideOptions): Middleware {
  return async (c: Context<{ Variables: TesseraVariables }>, next) => {
    const url = new URL(c.req.url);
    const decision = await tessera.decide({
      url: url.pathname + url.search,
      method: c.req.method,
      cookie: c.req.header('cookie'),
      header: (name) => c.req.header(name),
      request: (target) => (target === url.pathname + url.search ? c.req.raw : new Request(new URL(target, url.origin), c.req.raw)),
      // On @hono/node-server the node request is `c.env.incoming`; other runtimes give no peer address.
      clientAddress: () => (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress,
    }, options);
    if (decision.kind === 'respond') return decision.response;
    if (decision.kind === 'deny') return toResponse(decision.denial);
    if (decision.clearCookie !== undefined) c.header('set-cookie', decision.clearCookie, { append: true });
    c.set('tessera', decision.session);
    return next();
  };
}

export type { MiddlewareOptions, Requirement };
