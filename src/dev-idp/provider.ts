/**
 * The oidc-provider configuration that makes it look like Transmit Security Mosaic: JWT access
 * tokens with Mosaic's claims (`tid`, `app_name`, `app_id`, `roles`) for the `userid-api`
 * audience, ID tokens carrying `roles`/`tid`/`acr`/`amr`/`sid`, silent authentication, an MFA
 * step, refresh tokens for `offline_access`, RP-initiated and back-channel logout.
 */
import type { JWK } from 'jose';
import Provider, { interactionPolicy } from 'oidc-provider';
import type {
  AccessToken,
  Client,
  ClientMetadata as ProviderClientMetadata,
  Configuration,
  ErrorOut,
  Grant,
  IdToken,
  KoaContextWithOIDC,
} from 'oidc-provider';
import type { Logger } from '../observability/log.js';
import type { ProviderStore } from './adapter.js';
import { isLoopbackCallback, isLoopbackUrl, type ClientMetadata } from './clients.js';
import {
  ACR_MFA,
  ACR_PASSWORD,
  DEFAULT_AUDIENCE,
  DEFAULT_RESOURCE_INDICATOR,
  DEV_CLIENT_ID,
  DEV_TENANT_ID,
} from './constants.js';
import { escapeHtml } from '../lib/html.js';
import { page } from './html.js';
import { requestsMfa } from './interactions.js';
import { CONTENT_SECURITY_POLICY } from './respond.js';
import type { UserDirectory } from './users.js';

/** Scopes the JWT access tokens may carry. */
const ACCESS_TOKEN_SCOPES = 'openid profile email offline_access';

export interface ProviderSettings {
  issuer: string;
  accessTokenTtl: number;
  signingKeys: JWK[];
  cookieKeys: string[];
  clients: ClientMetadata[];
  users: UserDirectory;
  store: ProviderStore;
  logger: Logger;
}

export function createProvider(settings: ProviderSettings): Provider {
  const { users, accessTokenTtl } = settings;

  const policy = interactionPolicy.base();
  // An IdP session whose user is gone (e.g. a replaced users file) needs a new login.
  policy.get('login')?.checks.add(new interactionPolicy.Check(
    'account_unknown',
    'the account of the IdP session no longer exists',
    'login_required',
    (ctx) => ctx.oidc.session?.accountId !== undefined && ctx.oidc.account === undefined,
  ), 0);
  // acr_values=mfa asks for a second factor the IdP session may not have yet (step-up);
  // with prompt=none that answers login_required, as Mosaic evaluates MFA against its session.
  policy.get('login')?.checks.add(new interactionPolicy.Check(
    'mfa_required',
    'multi-factor authentication is required',
    'login_required',
    (ctx) => requestsMfa(stringParam(ctx.oidc.params?.acr_values)) && ctx.oidc.session?.acr !== ACR_MFA,
  ));

  const configuration: Configuration = {
    adapter: settings.store.adapterFor,
    // Tessera's own (looser) metadata type; oidc-provider validates every client at start.
    clients: settings.clients as readonly ProviderClientMetadata[],
    jwks: { keys: settings.signingKeys },
    cookies: {
      keys: settings.cookieKeys,
      // Own names: cookies do not separate ports, and apps on localhost use `_session` too.
      names: { session: 'tessera_idp_session', interaction: 'tessera_idp_interaction', resume: 'tessera_idp_resume' },
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    acrValues: [ACR_PASSWORD, ACR_MFA],
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    claims: {
      acr: null,
      amr: null,
      auth_time: null,
      sid: null,
      iss: null,
      // Claims listed under openid are in every ID token (Mosaic always sends acr, amr, auth_time).
      openid: ['sub', 'tid', 'roles', 'acr', 'amr', 'auth_time'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },
    // Put the requested claims (roles, tid, profile, email) into the ID token itself, as Mosaic does.
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      id_token_signed_response_alg: 'RS256',
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    },
    // Restore offline_access (oidc-provider drops it unless prompt=consent); runs after its scope check.
    extraParams: { scope: keepOfflineAccess },
    findAccount: async (_ctx: KoaContextWithOIDC, sub: string) => {
      const user = users.findBySub(sub);
      if (user === undefined) return undefined;
      return {
        accountId: user.sub,
        claims: async () => ({
          sub: user.sub,
          tid: DEV_TENANT_ID,
          roles: [...user.roles],
          preferred_username: user.username,
          ...(user.name === undefined ? {} : { name: user.name }),
          ...(user.email === undefined ? {} : { email: user.email, email_verified: true }),
        }),
      };
    },
    loadExistingGrant,
    interactions: {
      policy,
      url: async (_ctx: KoaContextWithOIDC, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    extraTokenClaims: async (_ctx, token) => {
      if (token.kind !== 'AccessToken' && token.kind !== 'ClientCredentials') return undefined;
      const accountId = token.kind === 'AccessToken' ? token.accountId : undefined;
      const user = accountId === undefined ? undefined : users.findBySub(accountId);
      return {
        tid: DEV_TENANT_ID,
        app_name: token.client?.clientName ?? token.clientId,
        app_id: token.clientId,
        roles: user === undefined ? [] : [...user.roles],
      };
    },
    features: {
      devInteractions: { enabled: false },
      backchannelLogout: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      resourceIndicators: {
        enabled: true,
        // Every token is a JWT for a resource: the requested one, else Mosaic's `userid-api`.
        defaultResource: async (_ctx, _client, oneOf) => oneOf ?? DEFAULT_RESOURCE_INDICATOR,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, indicator) => ({
          scope: ACCESS_TOKEN_SCOPES,
          audience: indicator === DEFAULT_RESOURCE_INDICATOR ? DEFAULT_AUDIENCE : indicator,
          accessTokenTTL: accessTokenTtl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    ttl: {
      AccessToken: accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      RefreshToken: 14 * 24 * 3600,
      Session: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
    },
    rotateRefreshToken: true,
    clientBasedCORS: (_ctx, origin, client) =>
      origin !== 'null' && (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin),
    renderError,
    // Back-channel logout tokens go to loopback URIs; oidc-provider's fetch refuses those (SSRF
    // protection), which is right for production but not for a local development IdP.
    fetch: (input, init) => {
      const { dispatcher: _ssrfGuard, ...rest }: RequestInit & { dispatcher?: unknown } = init ?? {};
      return fetch(input, rest);
    },
  };

  const provider = new Provider(settings.issuer, configuration);

  // tessera-dev takes any loopback callback (apps run on whatever port is free).
  const { redirectUriAllowed, postLogoutRedirectUriAllowed } = provider.Client.prototype;
  provider.Client.prototype.redirectUriAllowed = function (this: Client, value: string) {
    return redirectUriAllowed.call(this, value) || (this.clientId === DEV_CLIENT_ID && isLoopbackCallback(value));
  };
  provider.Client.prototype.postLogoutRedirectUriAllowed = function (this: Client, value: string) {
    return postLogoutRedirectUriAllowed.call(this, value) || (this.clientId === DEV_CLIENT_ID && isLoopbackUrl(value));
  };

  addAtHashAtTokenEndpoint(provider);

  // Every ID token names its IdP session (`sid`), not only for back-channel logout clients.
  provider.Client.prototype.includeSid = () => true;

  provider.on('server_error', (_ctx: unknown, err: unknown) => {
    settings.logger.error({ error: err instanceof Error ? err.stack ?? err.message : String(err) }, 'dev IdP server error');
  });
  provider.on('backchannel.error', (_ctx: unknown, err: unknown, client: unknown) => {
    settings.logger.warn({
      client: (client as Client | undefined)?.clientId,
      error: err instanceof Error ? err.message : String(err),
    }, 'dev IdP back-channel logout failed');
  });
  return provider;
}

const accessTokenValue = Symbol('tessera.accessTokenValue');

/**
 * oidc-provider puts `at_hash` only into ID tokens of the authorization response; Mosaic's
 * token-endpoint ID tokens carry it too. The access token's value is remembered when it is
 * saved and hashed into the ID token issued in the same request.
 */
function addAtHashAtTokenEndpoint(provider: Provider): void {
  const atPrototype = provider.AccessToken.prototype as AccessToken & { [accessTokenValue]?: string };
  const save = atPrototype.save;
  atPrototype.save = async function (this: typeof atPrototype) {
    const value = await save.call(this);
    this[accessTokenValue] = value;
    return value;
  };
  const idTokenPrototype = provider.IdToken.prototype;
  const issue = idTokenPrototype.issue;
  idTokenPrototype.issue = async function (this: IdToken, options) {
    const at = this.ctx?.oidc.entities.AccessToken as { [accessTokenValue]?: string } | undefined;
    if (options?.use === 'idtoken' && this.ctx?.oidc.route === 'token' && !('at_hash' in this.extra)
      && typeof at?.[accessTokenValue] === 'string') {
      this.set('at_hash', at[accessTokenValue]);
    }
    return issue.call(this, options);
  };
}

/** A request parameter (oidc-provider types them all as `unknown`) when it is a string. */
function stringParam(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** oidc-provider's scope check removes offline_access without prompt=consent; put it back. */
async function keepOfflineAccess(ctx: KoaContextWithOIDC): Promise<void> {
  const { params, client } = ctx.oidc;
  if (ctx.oidc.route !== 'authorization' || client === undefined || params === undefined) return;
  const raw = ctx.method === 'POST' ? ctx.oidc.body?.scope : ctx.query.scope;
  const requested = typeof raw === 'string' ? raw.split(' ') : [];
  const granted = stringParam(params.scope)?.split(' ') ?? [];
  if (requested.includes('offline_access') && !granted.includes('offline_access')
    && stringParam(params.response_type)?.split(' ').includes('code') && client.grantTypeAllowed('refresh_token')) {
    params.scope = [...granted, 'offline_access'].join(' ');
  }
}

/**
 * All clients of the dev IdP are first-party: the grant always covers what is asked for, so
 * there is never a consent page and prompt=none works after the first login.
 */
async function loadExistingGrant(ctx: KoaContextWithOIDC): Promise<Grant | undefined> {
  const { oidc } = ctx;
  const { session } = oidc;
  const accountId = session?.accountId;
  const clientId = oidc.client?.clientId;
  if (session === undefined || accountId === undefined || clientId === undefined) return undefined;
  const grantId = oidc.result?.consent?.grantId ?? session.grantIdFor(clientId);
  let grant = grantId === undefined ? undefined : await oidc.provider.Grant.find(grantId);
  if (grant !== undefined && (grant.accountId !== accountId || grant.clientId !== clientId)) grant = undefined;
  grant ??= new oidc.provider.Grant({ accountId, clientId });
  const scopes = [...oidc.requestParamOIDCScopes];
  if (scopes.length > 0) grant.addOIDCScope(scopes.join(' '));
  const claims = [...oidc.requestParamClaims];
  if (claims.length > 0) grant.addOIDCClaims(claims);
  for (const [indicator, server] of Object.entries(oidc.resourceServers ?? {})) {
    const resourceScopes = [...oidc.requestParamScopes].filter((s) => server.scopes.has(s));
    if (resourceScopes.length > 0) grant.addResourceScope(indicator, resourceScopes.join(' '));
  }
  await grant.save();
  return grant;
}

async function renderError(ctx: KoaContextWithOIDC, out: ErrorOut): Promise<void> {
  ctx.type = 'html';
  ctx.res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
  ctx.body = page('Error', `<h1>Something went wrong</h1>
<p><strong>${escapeHtml(out.error ?? 'error')}</strong></p>
<pre>${escapeHtml(out.error_description ?? '')}</pre>`);
}

/**
 * The RP-initiated logout confirmation: a form that submits itself (`logout=yes` ends the whole
 * IdP session); without JavaScript one button press, and a client that follows redirects
 * finishes it with one form POST.
 */
async function logoutSource(ctx: KoaContextWithOIDC, form: string): Promise<void> {
  const withConfirm = form.replace('</form>', '<input type="hidden" name="logout" value="yes"/></form>');
  ctx.type = 'html';
  ctx.body = page('Signing out', `<h1>Signing out</h1>
${withConfirm}
<p>You are being signed out of ${escapeHtml(ctx.host)}.</p>
<button type="submit" form="op.logoutForm">Sign out</button>
<script>document.forms[0].submit()</script>`);
}

async function postLogoutSuccessSource(ctx: KoaContextWithOIDC): Promise<void> {
  ctx.type = 'html';
  ctx.body = page('Signed out', '<h1>Signed out</h1><p>You have been signed out of the development identity provider.</p>');
}
