import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isTesseraError } from '../errors.js';
import type { Session } from '../session/manager.js';
import type { Tessera } from '../tessera.js';
import { loginRequired, storeUnavailable, type Denial } from '../app/denials.js';
import { toRequest, writeResponse } from './node-bridge.js';
import type { MiddlewareOptions } from './node.js';
import { isApiRequest } from '../app/request-kind.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated session, set by Tessera's plugin. */
    tessera?: Session;
  }
}

/**
 * Fastify plugin: `await app.register(tesseraFastify(tessera))`. An `onRequest` hook, before any
 * body parsing: `/auth/*` is answered by the core, other requests get `request.tessera`.
 */
export function tesseraFastify(tessera: Tessera, options: MiddlewareOptions = {}) {
  const required = options.required ?? true;
  const plugin = async (fastify: FastifyInstance) => {
    fastify.decorateRequest('tessera', undefined);
    fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      const api = () => isApiRequest((name) => headerOf(request, name));
      const send = (denial: Denial) => reply.code(denial.status).headers(denial.headers).send(denial.body);
      try {
        const url = request.raw.url ?? '/';
        if (url.startsWith('/auth/')) {
          const response = await tessera.handle(toRequest(request.raw, tessera.config.publicUrl));
          if (response) {
            reply.hijack();
            await writeResponse(reply.raw, response);
            return reply;
          }
        }
        const result = await tessera.authenticate(request.headers.cookie);
        if (result.authenticated) {
          request.tessera = result.session;
          return;
        }
        if (!required) return;
        return send(loginRequired(api(), tessera.loginUrl(url, result.renew), result.clearCookie));
      } catch (err) {
        if (isTesseraError(err) && err.status === 503) return send(storeUnavailable(api()));
        throw err;
      }
    });
  };
  // Like fastify-plugin: the hook applies to the whole instance, not an encapsulated child.
  Object.assign(plugin, { [Symbol.for('skip-override')]: true });
  return plugin;
}

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
