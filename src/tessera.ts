import { resolveConfig, type TesseraConfig, type TesseraOptionsInput } from './config/index.js';
import { developmentKeys, parseKeyRing } from './keys/index.js';
import { logger } from './observability/log.js';
import { createMetrics } from './observability/metrics.js';
import { IdentityProvider } from './oidc/provider.js';
import { TransactionCookies } from './oidc/transaction.js';
import { Verifiers } from './oidc/verifiers.js';
import type { RouteContext } from './app/context.js';
import { json } from './app/responses.js';
import { admin } from './app/routes/admin.js';
import { backchannelLogout } from './app/routes/backchannel.js';
import { callback } from './app/routes/callback.js';
import { failure } from './app/routes/errors.js';
import { login } from './app/routes/login.js';
import { logout, logoutForm } from './app/routes/logout.js';
import { sessionInfo } from './app/routes/session.js';
import { SessionManager, type AuthResult } from './session/manager.js';
import { openStore } from './stores/index.js';
import type { SessionStore } from './stores/types.js';

export interface Tessera {
  /** Serves `/auth/*`; resolves to null for any other path. */
  handle(request: Request): Promise<Response | null>;
  /** The per-request check: no `Request` object, one hash, usually no store round trip. */
  authenticate(cookieHeader: string | undefined): Promise<AuthResult>;
  /** The session's tokens (for token relay or offline use); undefined when it is gone. */
  tokens(storeKey: string): Promise<{ access_token: string; id_token?: string | undefined; refresh_token?: string | undefined } | undefined>;
  /** Where to send a browser that has no valid session. */
  loginUrl(returnTo: string, renew?: boolean): string;
  readonly sessions: SessionManager;
  readonly config: TesseraConfig;
  /** Whether the store and the IdP's metadata are reachable (for `/readyz`). */
  ready(): Promise<{ ready: boolean; store: boolean; idp: boolean }>;
  metrics(): string;
  close(): Promise<void>;
}

export interface TesseraDependencies {
  /** A store instance instead of the one `store` (TESSERA_STORE) names. */
  store?: SessionStore;
}

const isResolved = (value: object): value is TesseraConfig => 'idleTimeoutMs' in value && 'discoveryUrl' in value;

/** Builds Tessera from options (or a configuration already resolved by `loadConfig`). */
export function createTessera(options: TesseraOptionsInput | TesseraConfig, dependencies: TesseraDependencies = {}): Tessera {
  const config = isResolved(options) ? options : resolveConfig(options);
  const keys = parseKeyRing(config.keys ?? developmentKeys(config.dataDir));
  const store = dependencies.store ?? openStore(config.store);
  const provider = new IdentityProvider(config);
  const sessions = new SessionManager(store, keys, config);
  const metrics = createMetrics();
  const ctx: RouteContext = {
    config,
    keys,
    provider,
    sessions,
    transactions: new TransactionCookies(keys, config.secureCookies),
    verifiers: new Verifiers(config, provider, store),
    metrics,
  };

  async function handle(request: Request): Promise<Response | null> {
    const response = await route(request);
    return response === null ? null : guardLocation(response);
  }

  // Defence in depth at the single exit of `/auth/*`: whatever a route computed, a `Location`
  // resolves to this origin or to the IdP's authorization / end-session endpoints.
  const publicOrigin = new URL(config.publicUrl).origin;
  let idpOrigins: ReadonlySet<string> | undefined;
  async function allowedIdpOrigins(): Promise<ReadonlySet<string>> {
    if (idpOrigins !== undefined) return idpOrigins;
    const metadata = (await provider.configuration()).serverMetadata();
    const origins = new Set<string>();
    for (const endpoint of [metadata.authorization_endpoint, metadata.end_session_endpoint]) {
      const origin = typeof endpoint === 'string' ? originOf(endpoint, config.publicUrl) : undefined;
      if (origin !== undefined && origin !== 'null') origins.add(origin);
    }
    return (idpOrigins = origins);
  }

  async function guardLocation(response: Response): Promise<Response> {
    const location = response.headers.get('location');
    if (location === null) return response;
    const origin = originOf(location, config.publicUrl);
    if (origin === publicOrigin) return response;
    if (origin !== undefined && origin !== 'null') {
      try {
        if ((await allowedIdpOrigins()).has(origin)) return response;
      } catch {
        // No IdP metadata: nothing off this origin is allowed.
      }
    }
    logger.error('refused a redirect off this origin', { location: location.slice(0, 200) });
    const headers = new Headers(response.headers);
    headers.set('location', '/');
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }

  async function route(request: Request): Promise<Response | null> {
    const url = new URL(request.url);
    const path = url.pathname;
    if (!path.startsWith('/auth/') && path !== '/auth') return null;
    try {
      const method = request.method;
      switch (path) {
        case '/auth/login':
          return method === 'GET' ? await login(ctx, request, url) : notAllowed('GET');
        case '/auth/callback':
          return method === 'GET' ? await callback(ctx, request, url) : notAllowed('GET');
        case '/auth/logout':
          if (method === 'GET') return logoutForm(ctx, request);
          return method === 'POST' ? await logout(ctx, request) : notAllowed('GET, POST');
        case '/auth/session':
          return method === 'GET' ? await sessionInfo(ctx, request) : notAllowed('GET');
        case '/auth/backchannel-logout':
          if (!config.backchannelLogout) break;
          return method === 'POST' ? await backchannelLogout(ctx, request) : notAllowed('POST');
      }
      if (path.startsWith('/auth/admin/')) return await admin(ctx, request, path);
      return json(404, { error: 'not_found', error_description: `no route ${path}` });
    } catch (err) {
      return failure(request, err);
    }
  }

  return {
    handle,
    authenticate: (cookieHeader) => sessions.authenticate(cookieHeader),
    tokens: (storeKey) => sessions.tokensFor(storeKey),
    loginUrl: (returnTo, renew = false) => `/auth/login?returnTo=${encodeURIComponent(returnTo)}${renew ? '&silent=1' : ''}`,
    sessions,
    config,
    async ready() {
      const [storeOk, idpOk] = await Promise.all([
        store.ping().then(() => true, () => false),
        provider.configuration().then(() => true, () => false),
      ]);
      return { ready: storeOk && idpOk, store: storeOk, idp: idpOk };
    },
    metrics: () => metrics.render(),
    close: () => store.close(),
  };
}

function originOf(location: string, base: string): string | undefined {
  try {
    return new URL(location, base).origin;
  } catch {
    return undefined;
  }
}

function notAllowed(allow: string): Response {
  const response = json(405, { error: 'method_not_allowed', error_description: `use ${allow}` });
  response.headers.set('allow', allow);
  return response;
}
