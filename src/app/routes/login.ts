import * as client from 'openid-client';
import { acrFloor, requestedAcr } from '../../oidc/acr.js';
import { maxMaxAge, newTransaction } from '../../oidc/transaction.js';
import type { RouteContext } from '../context.js';
import { redirect } from '../responses.js';
import { safeReturnTo } from '../../lib/return-to.js';
import { failure } from './errors.js';

/**
 * `GET /auth/login?returnTo=/path[&silent=1][&acr=mfa][&max_age=300]`: starts an authorization-code flow.
 * `acr` can only raise the configured `acrValues` floor (see `oidc/acr.ts`), silent or not.
 * `max_age` (seconds, see `requestedMaxAge`) is sent as `max_age` and kept in the transaction, so
 * the callback refuses an ID token whose `auth_time` is older (step-up, RFC 9470).
 */
export async function login(ctx: RouteContext, request: Request, url: URL): Promise<Response> {
  const returnTo = safeReturnTo(url.searchParams.get('returnTo'));
  // At most one silent try per login: one still pending in this browser means the next is interactive.
  const silent = url.searchParams.get('silent') === '1' && ctx.config.silentAuth
    && !ctx.transactions.hasPendingSilent(request.headers.get('cookie') ?? undefined);
  const acr = requestedAcr(url.searchParams.getAll('acr'), acrFloor(ctx.config.acrValues));
  const maxAge = requestedMaxAge(url.searchParams.getAll('max_age'));
  try {
    const configuration = await ctx.provider.configuration();
    const txn = newTransaction(returnTo, silent, Date.now(), acr, maxAge);
    const parameters: Record<string, string> = {
      redirect_uri: `${ctx.config.publicUrl}/auth/callback`,
      scope: ctx.config.scopes.join(' '),
      response_type: 'code',
      state: txn.state,
      nonce: txn.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(txn.verifier),
      code_challenge_method: 'S256',
    };
    if (silent) parameters.prompt = 'none';
    if (ctx.config.resource) parameters.resource = ctx.config.resource;
    if (acr !== undefined) parameters.acr_values = acr.join(' ');
    if (maxAge !== undefined) parameters.max_age = String(maxAge);
    const location = client.buildAuthorizationUrl(configuration, parameters).href;
    ctx.metrics.loginStarted(silent ? 'silent' : 'interactive');
    return redirect(location, ctx.transactions.begin(txn, request.headers.get('cookie') ?? undefined));
  } catch (err) {
    return failure(ctx, request, err);
  }
}

/**
 * The `max_age` login parameter: one occurrence of 1 to 8 ASCII digits whose value is at most a
 * year (`maxMaxAge` seconds); anything else (absent, repeated, signed, fractional, spaced, larger)
 * is ignored, and the login then asks for no `max_age`.
 */
export function requestedMaxAge(parameter: readonly string[]): number | undefined {
  if (parameter.length !== 1 || !/^[0-9]{1,8}$/.test(parameter[0]!)) return undefined;
  const seconds = Number(parameter[0]);
  return seconds <= maxMaxAge ? seconds : undefined;
}
