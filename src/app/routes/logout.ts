import { logoutAtIdp } from '../../oidc/idp-logout.js';
import * as client from 'openid-client';
import { readForm } from '../body.js';
import type { RouteContext } from '../context.js';
import { logoutFormPage, newRequestId, signedOutPage } from '../pages.js';
import { isApiRequest } from '../request-kind.js';
import { sameOrigin } from '../same-origin.js';
import { html, json, redirect } from '../responses.js';
import { failure, problem } from './errors.js';

const csrfPurpose = 'csrf';
const csrfMaxAgeMs = 3_600_000;

/** `GET /auth/logout`: a confirmation form carrying a CSRF token bound to this session. */
export function logoutForm(ctx: RouteContext, request: Request): Response {
  const storeKey = ctx.sessions.storeKeyFromCookie(request.headers.get('cookie') ?? undefined) ?? '-';
  const token = ctx.keys.seal(`${storeKey}|${Date.now()}`, csrfPurpose);
  return html(200, logoutFormPage(token));
}

/**
 * `POST /auth/logout`: same-origin only (Origin / Sec-Fetch-Site) or with the form's CSRF token.
 * Deletes the session first, clears the cookie, then tells the IdP (with a timeout).
 */
export async function logout(ctx: RouteContext, request: Request): Promise<Response> {
  const cookieHeader = request.headers.get('cookie') ?? undefined;
  const storeKey = ctx.sessions.storeKeyFromCookie(cookieHeader);
  if (!(await isSameOriginOrToken(ctx, request, storeKey))) {
    const requestId = newRequestId();
    ctx.logger.warn({ requestId }, 'logout refused: cross-origin request without a valid CSRF token');
    return problem(request, 403, 'forbidden', 'Sign-out refused', 'This sign-out request did not come from this site. Use the Sign out button.', [], { href: '/auth/logout', label: 'Sign out' }, requestId);
  }
  const cookies = [ctx.sessions.clearCookieHeader];
  let tokens;
  try {
    if (storeKey !== undefined) {
      // The revocation is attempted even when the tokens cannot be read: with the store down it
      // is kept and retried, and this instance refuses the cookie meanwhile.
      let unreadable: unknown;
      tokens = await ctx.sessions.tokensFor(storeKey).catch((err: unknown) => void (unreadable = err));
      await ctx.sessions.revoke(storeKey);
      if (unreadable !== undefined) throw unreadable;
    }
  } catch (err) {
    return failure(ctx, request, err, cookies);
  }
  ctx.metrics.loggedOut();
  const idpEnded = tokens !== undefined && ctx.config.logoutApiUrl !== undefined && await logoutAtIdp(ctx.config.logoutApiUrl, tokens.access_token, ctx);

  const postLogout = ctx.config.postLogoutPath ?? signedOutPath;
  let location = ctx.config.postLogoutPath ?? `${signedOutPath}${idpEnded ? '?idp=ended' : ''}`;
  if (ctx.config.endSession && tokens?.id_token) {
    try {
      const configuration = await ctx.provider.configuration();
      if (configuration.serverMetadata().end_session_endpoint) {
        location = client.buildEndSessionUrl(configuration, {
          id_token_hint: tokens.id_token,
          post_logout_redirect_uri: `${ctx.config.publicUrl}${postLogout}`,
          ...(ctx.config.postLogoutPath === undefined ? { state: 'idp-ended' } : {}),
        }).href;
      }
    } catch (err) {
      ctx.logger.warn({ error: (err as Error).message }, 'end-session redirect skipped');
    }
  }
  if (isApiRequest((n) => request.headers.get(n))) return json(200, { loggedOut: true, location }, cookies);
  return redirect(location, cookies, 303);
}

export const signedOutPath = '/auth/signed-out';

/** `GET /auth/signed-out`: says so, and whether the IdP session was ended too (Mosaic's logout API, or end-session's `state`). */
export function signedOut(url: URL): Response {
  const idpEnded = url.searchParams.get('idp') === 'ended' || url.searchParams.get('state') === 'idp-ended';
  return html(200, signedOutPage(idpEnded));
}

async function isSameOriginOrToken(ctx: RouteContext, request: Request, storeKey: string | undefined): Promise<boolean> {
  const decided = sameOrigin(ctx.config, request);
  if (decided !== undefined) return decided;
  const form = await readForm(request);
  const token = form?.get('csrf');
  if (!token) return false;
  const opened = ctx.keys.open(token, csrfPurpose);
  if (opened === undefined) return false;
  const [boundKey, issuedAt] = opened.split('|');
  return boundKey === (storeKey ?? '-') && Date.now() - Number(issuedAt) < csrfMaxAgeMs;
}
