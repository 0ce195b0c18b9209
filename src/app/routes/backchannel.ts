import { isTesseraError } from '../../errors.js';
import { readForm } from '../body.js';
import type { RouteContext } from '../context.js';
import { json } from '../responses.js';
import { failure } from './errors.js';

/**
 * `POST /auth/backchannel-logout` (OIDC Back-Channel Logout 1.0): a valid logout token ends the
 * sessions of its `sid` (or, without one, of its `sub`). Any defect → 400.
 */
export async function backchannelLogout(ctx: RouteContext, request: Request): Promise<Response> {
  const form = await readForm(request);
  const token = form?.get('logout_token');
  if (!token) return json(400, { error: 'invalid_request', error_description: 'expected a form body with a logout_token' });
  try {
    const verifiers = await ctx.verifiers.get();
    const claims = await verifiers.logout.verify(token);
    const count = claims.sid !== undefined
      ? await ctx.sessions.revokeBySid(claims.sid)
      : await ctx.sessions.revokeByUser(claims.sub!);
    ctx.logger.info({ sessions: count }, 'back-channel logout');
    return json(200, {});
  } catch (err) {
    if (isTesseraError(err, 'ERR_TOKEN_') && !err.transient) {
      ctx.logger.warn({ code: err.code, error: err.message }, 'back-channel logout token rejected');
      return json(400, { error: 'invalid_request', error_description: err.message });
    }
    return failure(ctx, request, err);
  }
}
