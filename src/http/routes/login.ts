import * as client from 'openid-client';
import { newTransaction } from '../../oidc/transaction.js';
import type { RouteContext } from '../context.js';
import { redirect } from '../responses.js';
import { safeReturnTo } from '../return-to.js';
import { failure } from './errors.js';

const acrPattern = /^[A-Za-z0-9_.:-]{1,64}$/;

/** `GET /auth/login?returnTo=/path[&silent=1][&acr=mfa]`: starts an authorization-code flow. */
export async function login(ctx: RouteContext, request: Request, url: URL): Promise<Response> {
  const returnTo = safeReturnTo(url.searchParams.get('returnTo'));
  const silent = url.searchParams.get('silent') === '1' && ctx.config.silentAuth;
  const acr = url.searchParams.get('acr') ?? ctx.config.acrValues;
  try {
    const configuration = await ctx.provider.configuration();
    const txn = newTransaction(returnTo, silent);
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
    if (acr && acrPattern.test(acr)) parameters.acr_values = acr;
    const location = client.buildAuthorizationUrl(configuration, parameters).href;
    ctx.metrics.inc('tessera_logins_started_total', silent ? 'kind="silent"' : 'kind="interactive"');
    return redirect(location, ctx.transactions.begin(txn, request.headers.get('cookie') ?? undefined));
  } catch (err) {
    return failure(request, err);
  }
}
