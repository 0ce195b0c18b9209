import { clientFacts, type ClientInfo } from '../client.js';
import type { RouteContext } from '../context.js';
import { json } from '../responses.js';
import { failure } from './errors.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** `GET /auth/session`: who is signed in, as JSON (DESIGN §2). */
export async function sessionInfo(ctx: RouteContext, request: Request, client?: ClientInfo): Promise<Response> {
  try {
    const result = await ctx.sessions.authenticate(request.headers.get('cookie') ?? undefined, Date.now(), clientFacts(request, client));
    if (!result.authenticated) {
      return json(401, { authenticated: false }, result.clearCookie ? [result.clearCookie] : []);
    }
    const s = result.session;
    return json(200, {
      authenticated: true,
      sub: s.sub,
      roles: s.roles,
      tid: s.tid ?? null,
      scope: s.scope ?? null,
      amr: s.amr ?? [],
      acr: s.acr ?? null,
      authTime: s.authTime === undefined ? null : iso(s.authTime * 1000),
      accessTokenExpiresAt: iso(s.accessTokenExpiresAt * 1000),
      session: { createdAt: iso(s.createdAt), idleExpiresAt: iso(s.idleExpiresAt), absoluteExpiresAt: iso(s.absoluteExpiresAt) },
    });
  } catch (err) {
    return failure(ctx, request, err);
  }
}
