import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Session } from '../session/manager.js';
import type { Tessera } from '../tessera.js';
import { writeResponse } from './node-bridge.js';
import { nodeFacts, type MiddlewareOptions } from './node.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated session, set by Tessera's plugin. */
    tessera?: Session;
  }
}

/**
 * Fastify plugin: `await app.register(tesseraFastify(tessera))`. An `onRequest` hook, before any
 * body parsing, translating the core's decision.
 */
export function tesseraFastify(tessera: Tessera, options: MiddlewareOptions = {}) {
  const plugin = async (fastify: FastifyInstance) => {
    fastify.decorateRequest('tessera', undefined);
    fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      const decision = await tessera.decide(nodeFacts(request.raw, tessera.publicUrl), options);
      if (decision.kind === 'pass') {
        request.tessera = decision.session;
        return;
      }
      if (decision.kind === 'deny') return reply.code(decision.denial.status).headers(decision.denial.headers).send(decision.denial.body);
      reply.hijack();
      await writeResponse(reply.raw, decision.response);
      return reply;
    });
  };
  // Like fastify-plugin: the hook applies to the whole instance, not an encapsulated child.
  Object.assign(plugin, { [Symbol.for('skip-override')]: true });
  return plugin;
}
