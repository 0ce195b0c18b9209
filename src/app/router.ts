import { SpanStatusCode, withSpan } from '../observability/tracing.js';
import type { ClientInfo } from './client.js';
import type { RouteContext } from './context.js';
import { json } from './responses.js';
import { admin } from './routes/admin.js';
import { backchannelLogout } from './routes/backchannel.js';
import { callback } from './routes/callback.js';
import { failure } from './routes/errors.js';
import { login } from './routes/login.js';
import { logout, logoutForm, signedOut } from './routes/logout.js';
import { sessionInfo } from './routes/session.js';
import { sessions } from './routes/sessions.js';

/** True for the paths the `/auth` app answers (given a path, or a path with its query). */
export function isAuthPath(url: string): boolean {
  return url.startsWith('/auth/') || url === '/auth' || url.startsWith('/auth?');
}

/**
 * The `/auth/*` app as one Web-standard handler: `Request` in, `Response` out (null for any
 * other path). Every response leaves through one exit that checks its `Location`.
 */
export type AuthHandler = (request: Request, client?: ClientInfo) => Promise<Response | null>;

export function createAuthRouter(ctx: RouteContext): AuthHandler {
  const { config, provider } = ctx;

  async function route(request: Request, client: ClientInfo | undefined): Promise<Response | null> {
    const url = new URL(request.url);
    const path = url.pathname;
    if (!path.startsWith('/auth/') && path !== '/auth') return null;
    try {
      const method = request.method;
      switch (path) {
        case '/auth/login':
          return method === 'GET' ? await traced('tessera.login', () => login(ctx, request, url)) : notAllowed('GET');
        case '/auth/callback':
          return method === 'GET' ? await traced('tessera.callback', () => callback(ctx, request, url, client)) : notAllowed('GET');
        case '/auth/logout':
          if (method === 'GET') return logoutForm(ctx, request);
          return method === 'POST' ? await logout(ctx, request) : notAllowed('GET, POST');
        case '/auth/signed-out':
          return method === 'GET' ? signedOut(url) : notAllowed('GET');
        case '/auth/session':
          return method === 'GET' ? await sessionInfo(ctx, request, client) : notAllowed('GET');
        case '/auth/backchannel-logout':
          if (!config.backchannelLogout) break;
          return method === 'POST' ? await backchannelLogout(ctx, request) : notAllowed('POST');
      }
      if (path === '/auth/sessions' || path.startsWith('/auth/sessions/')) return await sessions(ctx, request, path, client);
      if (path.startsWith('/auth/admin/')) return await admin(ctx, request, path);
      return json(404, { error: 'not_found', error_description: `no route ${path}` });
    } catch (err) {
      return failure(ctx, request, err);
    }
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
    // The origin only: the refused URL may carry a login's state and nonce.
    ctx.logger.error({ origin: origin ?? 'unparsable' }, 'refused a redirect off this origin');
    const headers = new Headers(response.headers);
    headers.set('location', '/');
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }

  return async function handle(request: Request, client?: ClientInfo): Promise<Response | null> {
    const response = await route(request, client);
    return response === null ? null : guardLocation(response);
  };
}

function originOf(location: string, base: string): string | undefined {
  try {
    return new URL(location, base).origin;
  } catch {
    return undefined;
  }
}

/** A route in its own span, with the status it answered (`http.response.status_code`). */
function traced(name: string, route: () => Promise<Response>): Promise<Response> {
  return withSpan(name, {}, async (span) => {
    const response = await route();
    if (span.isRecording()) {
      span.setAttribute('http.response.status_code', response.status);
      if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    }
    return response;
  });
}

function notAllowed(allow: string): Response {
  const response = json(405, { error: 'method_not_allowed', error_description: `use ${allow}` });
  response.headers.set('allow', allow);
  return response;
}
