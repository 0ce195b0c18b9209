import { createHash, timingSafeEqual } from 'node:crypto';
import type { RouteContext } from '../context.js';
import { json } from '../responses.js';
import { sessionJson } from '../session-json.js';
import { failure } from './errors.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * `/auth/admin/users/:sub/sessions[/:ref]`: list (GET) and revoke (DELETE) a user's sessions.
 * Only with `Authorization: Bearer <TESSERA_ADMIN_TOKEN>`; a session cookie alone never works.
 */
export async function admin(ctx: RouteContext, request: Request, path: string): Promise<Response> {
  const expected = ctx.config.adminToken;
  if (expected === undefined) return json(404, { error: 'not_found', error_description: 'the admin API is off (set TESSERA_ADMIN_TOKEN)' });
  const header = request.headers.get('authorization') ?? '';
  const given = header.startsWith('Bearer ') ? header.slice(7) : '';
  if (!timingSafeEqual(digest(given), digest(expected))) {
    return json(401, { error: 'unauthorized', error_description: 'expected Authorization: Bearer <admin token>' });
  }
  const match = /^\/auth\/admin\/users\/([^/]+)\/sessions(?:\/([A-Za-z0-9_-]{1,64}))?$/.exec(path);
  if (!match) return json(404, { error: 'not_found', error_description: 'expected /auth/admin/users/<sub>/sessions[/<ref>]' });
  let sub: string;
  try {
    sub = decodeURIComponent(match[1]!);
  } catch {
    return json(400, { error: 'invalid_request', error_description: 'the user id is not valid percent-encoding' });
  }
  const ref = match[2];
  try {
    if (request.method === 'GET' && ref === undefined) {
      const sessions = await ctx.sessions.listByUser(sub);
      return json(200, { sessions: sessions.map((s) => ({ ...s, ...sessionJson(s) })) });
    }
    if (request.method === 'DELETE' && ref === undefined) {
      return json(200, { revoked: await ctx.sessions.revokeByUser(sub) });
    }
    if (request.method === 'DELETE') {
      const revoked = await ctx.sessions.revokeByRef(sub, ref!);
      return json(revoked ? 200 : 404, { revoked: revoked ? 1 : 0 });
    }
    return json(405, { error: 'method_not_allowed', error_description: 'use GET or DELETE' });
  } catch (err) {
    return failure(ctx, request, err);
  }
}
