import { logoutAtIdp } from '../../oidc/idp-logout.js';
import { clientFacts, type ClientInfo } from '../client.js';
import type { RouteContext } from '../context.js';
import { json } from '../responses.js';
import { sameOrigin } from '../same-origin.js';
import { sessionJson } from '../session-json.js';
import { failure, problem } from './errors.js';

const refPattern = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * `/auth/sessions[/<ref>]`: the signed-in user's own sessions. `GET /auth/sessions` lists them
 * (the current one marked); `DELETE /auth/sessions/<ref>` ends one (`404` for a ref that is not
 * one of the caller's sessions, however it is spelled); `DELETE /auth/sessions` ends them all,
 * this one included. `DELETE` only same-origin (the logout rule), else `403`.
 *
 * An ended session is also ended at the IdP (Mosaic's logout API, with that session's access
 * token), so silent SSO does not sign the device straight back in.
 */
export async function sessions(ctx: RouteContext, request: Request, path: string, client: ClientInfo | undefined): Promise<Response> {
  const method = request.method;
  const rest = path.slice('/auth/sessions'.length);
  if (rest !== '' && !rest.startsWith('/')) return json(404, { error: 'not_found', error_description: `no route ${path}` });
  const ref = rest === '' ? undefined : rest.slice(1);
  if (ref === undefined ? method !== 'GET' && method !== 'DELETE' : method !== 'DELETE') {
    const allow = ref === undefined ? 'GET, DELETE' : 'DELETE';
    const response = json(405, { error: 'method_not_allowed', error_description: `use ${allow}` });
    response.headers.set('allow', allow);
    return response;
  }
  if (method === 'DELETE' && sameOrigin(ctx.config, request) !== true) {
    ctx.logger.warn({}, 'session self-service refused: not a same-origin request');
    return problem(request, 403, 'forbidden', 'Request refused', 'Ending sessions needs a same-origin request (Origin or Sec-Fetch-Site: same-origin).');
  }
  try {
    const result = await ctx.sessions.authenticate(request.headers.get('cookie') ?? undefined, Date.now(), clientFacts(request, client));
    if (!result.authenticated) {
      return json(401, { error: 'login_required', error_description: 'sign in to see your sessions' }, result.clearCookie ? [result.clearCookie] : []);
    }
    const current = result.session;
    if (method === 'GET') {
      const list = await ctx.sessions.listByUser(current.sub);
      return json(200, { sessions: list.map((s) => ({ ...sessionJson(s), current: s.ref === current.ref })) });
    }
    const targets = (await ctx.sessions.listByUser(current.sub)).filter((s) => ref === undefined || s.ref === ref);
    if (ref !== undefined && (!refPattern.test(ref) || targets.length === 0)) {
      return json(404, { error: 'not_found', error_description: 'no session of yours has this ref' });
    }
    // The tokens first: the IdP's logout API needs each session's access token, and it is gone with the session.
    const tokens = ctx.config.logoutApiUrl === undefined ? [] : await Promise.all(targets.map((s) => ctx.sessions.tokensOf(s)));
    if (ref === undefined) await ctx.sessions.revokeByUser(current.sub);
    else await ctx.sessions.revokeByRef(current.sub, ref);
    const url = ctx.config.logoutApiUrl;
    if (url !== undefined) {
      await Promise.all(tokens.map((t) => (t === undefined ? undefined : logoutAtIdp(url, t.access_token, ctx))));
    }
    ctx.logger.info({ session: current.ref, sub: current.sub, ended: ref ?? 'all' }, 'sessions ended by their user');
    const endsCurrent = ref === undefined || ref === current.ref;
    const response = new Response(null, { status: 204, headers: { 'cache-control': 'no-store' } });
    if (endsCurrent) response.headers.append('set-cookie', ctx.sessions.clearCookieHeader);
    return response;
  } catch (err) {
    return failure(ctx, request, err);
  }
}
