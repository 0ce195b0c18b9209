import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import { isTesseraError } from '../../errors.js';
import { annotateActiveSpan, withSpan } from '../../observability/tracing.js';
import { acrFloor, acrMeets } from '../../oidc/acr.js';
import { isStaleAuthentication } from '../../oidc/verifiers.js';
import { clientFacts, type ClientInfo } from '../client.js';
import type { RouteContext } from '../context.js';
import { newRequestId } from '../pages.js';
import { redirect } from '../responses.js';
import { failure, problem } from './errors.js';

/** openid-client codes that mean the IdP did not answer properly (→ 503), not that the response was bad. */
const unreachableCodes = new Set(['OAUTH_TIMEOUT', 'OAUTH_ABORT', 'OAUTH_RESPONSE_IS_NOT_CONFORM', 'OAUTH_RESPONSE_IS_NOT_JSON']);

/** Errors from a `prompt=none` attempt that mean "the user has to sign in interactively". */
const interactiveNeeded = new Set(['login_required', 'interaction_required', 'consent_required', 'account_selection_required']);

/**
 * `GET /auth/callback`: checks the transaction, exchanges the code, validates the ID token and
 * the access token, checks the ID token's `acr` against what was requested and the configured
 * floor and, when the login asked for a `max_age`, its `auth_time` (required, and no older than
 * that), and creates a session with a new id carrying `acr`, `amr` and `auth_time`.
 */
export async function callback(ctx: RouteContext, request: Request, url: URL, peer?: ClientInfo): Promise<Response> {
  const cookieHeader = request.headers.get('cookie') ?? undefined;
  const state = url.searchParams.get('state');
  const reject = (status: number, reason: string, title: string, message: string, cookies: string[] = []) => {
    ctx.metrics.callbackRejected(reason);
    const requestId = newRequestId();
    ctx.logger.warn({ requestId, reason }, 'callback rejected');
    annotateActiveSpan('tessera.callback.rejected', reason);
    return problem(request, status, reason, title, message, cookies, { href: '/auth/login', label: 'Sign in again' }, requestId);
  };

  if (!state || state.length > 512) {
    return reject(400, 'invalid_request', 'Sign-in failed', 'The sign-in response is missing its state parameter, so it cannot be matched to a sign-in you started.');
  }
  const txn = ctx.transactions.find(state, cookieHeader);
  if (txn === undefined) {
    return reject(400, 'transaction_not_found', 'Sign-in expired', 'This sign-in was not started in this browser, took longer than 10 minutes, or was already completed. Please sign in again.');
  }
  const cookies = [ctx.transactions.clear(state)];
  try {
    // Single use, also against a replay that carries the transaction cookie along.
    const fresh = await ctx.store.putOnce(`txn:${createHash('sha256').update(state).digest('base64url')}`, 600_000);
    if (!fresh) return reject(400, 'transaction_replayed', 'Sign-in already completed', 'This sign-in response was already used. Please sign in again.', cookies);
  } catch (err) {
    return failure(ctx, request, err, cookies);
  }

  const error = url.searchParams.get('error');
  if (error !== null) {
    if (txn.silent && interactiveNeeded.has(error)) {
      // The IdP session is gone: fall back to an interactive login, never another silent one,
      // asking for the same acr (the login route still holds it to the floor).
      const acr = txn.acr === undefined ? '' : `&acr=${encodeURIComponent(txn.acr.join(' '))}`;
      const maxAge = txn.maxAge === undefined ? '' : `&max_age=${txn.maxAge}`;
      return redirect(`/auth/login?returnTo=${encodeURIComponent(txn.returnTo)}${acr}${maxAge}`, cookies);
    }
    if (error === 'access_denied') {
      return reject(403, 'access_denied', 'Sign-in cancelled', 'The sign-in was cancelled or denied at the identity provider.', cookies);
    }
    const description = url.searchParams.get('error_description')?.slice(0, 300);
    return reject(400, 'idp_error', 'Sign-in failed', `The identity provider answered "${error.slice(0, 100)}"${description ? `: ${description}` : ''}.`, cookies);
  }
  if (!url.searchParams.get('code')) {
    return reject(400, 'invalid_request', 'Sign-in failed', 'The sign-in response has neither a code nor an error.', cookies);
  }

  let tokens: client.TokenEndpointResponse;
  try {
    const configuration = await ctx.provider.configuration();
    const current = new URL(`${ctx.config.publicUrl}/auth/callback${url.search}`);
    tokens = await withSpan('tessera.token_exchange', { 'tessera.grant_type': 'authorization_code' }, () => client.authorizationCodeGrant(configuration, current, {
      pkceCodeVerifier: txn.verifier,
      expectedState: state,
      expectedNonce: txn.nonce,
      idTokenExpected: true,
    }, ctx.config.resource ? { resource: ctx.config.resource } : undefined));
  } catch (err) {
    if (err instanceof client.ResponseBodyError) {
      return reject(400, 'code_rejected', 'Sign-in failed', `The identity provider rejected the sign-in code (${err.error}). Please sign in again.`, cookies);
    }
    if (err instanceof client.AuthorizationResponseError) {
      return reject(400, 'idp_error', 'Sign-in failed', `The identity provider answered "${err.error}".`, cookies);
    }
    if (err instanceof client.ClientError && err.code !== undefined && !unreachableCodes.has(err.code)) {
      // openid-client's own message is generic ("unexpected JWT claim value"); its cause names the field.
      const detail = err.cause instanceof Error && err.cause.message ? err.cause.message : err.message;
      return reject(400, 'invalid_response', 'Sign-in failed', `The sign-in response failed validation: ${detail}`, cookies);
    }
    if (isTesseraError(err)) return failure(ctx, request, err, cookies);
    const requestId = newRequestId();
    ctx.logger.warn({ requestId, error: (err as Error).message }, 'code exchange failed');
    return problem(request, 503, 'temporarily_unavailable', 'Temporarily unavailable', 'The identity provider could not be reached to complete the sign-in. Please try again.', cookies, { href: '/auth/login', label: 'Sign in again' }, requestId);
  }

  try {
    const verifiers = await ctx.verifiers.get();
    // With the login's max_age, `auth_time` is required and must be recent enough; a stale one is refused below (403).
    const idClaims = await verifiers.id.verify(tokens.id_token, {
      nonce: txn.nonce,
      accessToken: tokens.access_token,
      ...(txn.maxAge !== undefined ? { maxAge: txn.maxAge } : {}),
    });
    const access = await verifiers.access.verify(tokens.access_token);
    if (access.sub !== idClaims.sub) {
      return reject(400, 'invalid_response', 'Sign-in failed', 'The access token and the ID token name different users.', cookies);
    }
    // Before anything changes: a refused sign-in leaves this browser's current session as it was.
    // The configured floor is checked on its own too, in case the transaction does not carry it.
    const acr = stringOrUndefined(idClaims.acr);
    const floor = acrFloor(ctx.config.acrValues);
    const unmet = !acrMeets(acr, txn.acr) ? txn.acr : !acrMeets(acr, floor) ? floor : undefined;
    if (unmet !== undefined) {
      const required = unmet.map((v) => `"${v}"`).join(' or ');
      const got = acr === undefined ? 'no acr at all' : `"${acr.slice(0, 64)}"`;
      return reject(403, 'insufficient_acr', 'Stronger sign-in required', `This sign-in required the authentication level (acr) ${required}, but the identity provider confirmed ${got}. No session was created; please sign in again.`, cookies);
    }
    const oldKey = ctx.sessions.storeKeyFromCookie(cookieHeader);
    if (oldKey !== undefined) await ctx.sessions.revoke(oldKey);
    const { setCookie } = await ctx.sessions.create(
      {
        access_token: tokens.access_token,
        // The ID token is only ever sent back as end-session's id_token_hint: kept only for that.
        id_token: ctx.config.endSession ? tokens.id_token : undefined,
        refresh_token: tokens.refresh_token,
      },
      {
        sub: idClaims.sub,
        sid: typeof idClaims.sid === 'string' ? idClaims.sid : undefined,
        roles: stringArray(access.roles ?? idClaims.roles),
        tid: stringOrUndefined(access.tid ?? idClaims.tid),
        scope: stringOrUndefined(access.scope ?? tokens.scope),
        amr: Array.isArray(idClaims.amr) ? stringArray(idClaims.amr) : undefined,
        acr,
        authTime: epochSecondsOrUndefined(idClaims.auth_time),
        accessTokenExpiresAt: access.exp,
      },
      Date.now(),
      clientFacts(request, peer),
    );
    ctx.metrics.sessionCreated();
    return redirect(txn.returnTo, [...cookies, setCookie]);
  } catch (err) {
    if (txn.maxAge !== undefined && isStaleAuthentication(err)) {
      // Like an insufficient acr: nothing changed yet, so this browser's current session stays as it was.
      return reject(403, 'stale_authentication', 'Fresh sign-in required', `This sign-in required that you authenticated within the last ${txn.maxAge} seconds (max_age), but the identity provider confirmed an earlier sign-in. No session was created; please sign in again.`, cookies);
    }
    if (isTesseraError(err, 'ERR_TOKEN_') && !err.transient) {
      return reject(400, 'invalid_token', 'Sign-in failed', `The identity provider's tokens failed validation: ${err.message}`, cookies);
    }
    return failure(ctx, request, err, cookies);
  }
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** A NumericDate claim (`auth_time`) as whole epoch seconds; undefined when absent or not a plausible time. */
function epochSecondsOrUndefined(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value < 1e11 ? Math.floor(value) : undefined;
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
