import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DecideOptions } from '../app/decision.js';
import type { Session } from '../session/manager.js';
import type { Tessera } from '../tessera.js';
import { nodeFacts, sendDenial, writeResponse } from './node-bridge.js';
import type { MiddlewareOptions, Requirement } from './node.js';

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
    if (!fastify.hasRequestDecorator('tessera')) fastify.decorateRequest('tessera', undefined);
    fastify.addHook('onRequest', hook(tessera, options));
  };
  // Like fastify-plugin: the hook applies to the whole instance, not an encapsulated child.
  Object.assign(plugin, { [Symbol.for('skip-override')]: true });
  return plugin;
}

/** A per-route guard: `app.get('/admin', { onRequest: requireSession(tessera, { roles: ['admin'] }) }, handler)`. */
export function requireSession(tessera: Tessera, requirement: Requirement = {}) {
  return hook(tessera, { require: requirement });
}

function hook(tessera: Tessera, options: DecideOptions) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const decision = await tessera.decide(nodeFacts(request.raw, tessera.publicUrl), options);
    if (decision.kind === 'pass') {
      if (decision.clearCookie !== undefined) void reply.header('set-cookie', decision.clearCookie);
      request.tessera = decision.session;
      return;
    }
    // Written by Tessera itself, byte for byte as the gateway and the other adapters write it.
    reply.hijack();
    if (decision.kind === 'deny') sendDenial(reply.raw, decision.denial);
    else await writeResponse(reply.raw, decision.response);
    return reply;
  };
}
