import { messagePage } from './pages.js';

/**
 * The answers every adapter gives outside `/auth/*` when a request cannot go on, as plain data
 * so that node, Express, Fastify, Hono and the gateway write the same bytes.
 */
export interface Denial {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** No valid session: pages are redirected to login, API requests get 401 JSON (DESIGN §1). */
export function loginRequired(api: boolean, loginUrl: string, clearCookie: string | undefined): Denial {
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (clearCookie) headers['set-cookie'] = clearCookie;
  if (api) {
    return { status: 401, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ error: 'login_required', login_url: loginUrl }) };
  }
  return { status: 302, headers: { ...headers, location: loginUrl }, body: '' };
}

const pageHeaders = {
  'cache-control': 'no-store',
  'content-type': 'text/html; charset=utf-8',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
};

/** A session without any of the route's roles: 403, a page for navigations, JSON for API requests. */
export function forbidden(api: boolean, description: string, requestId?: string): Denial {
  if (api) {
    return { status: 403, headers: { 'cache-control': 'no-store', 'content-type': 'application/json' }, body: JSON.stringify({ error: 'forbidden', error_description: description }) };
  }
  return { status: 403, headers: pageHeaders, body: messagePage('Access denied', `${description} Ask for access, or sign in as another user.`, { href: '/auth/logout', label: 'Sign in as another user' }, requestId) };
}

/** What a step-up asks for (RFC 9470): an `acr`, a maximum age of the authentication, or both. */
export interface StepUp {
  acr: string | undefined;
  /** Seconds. */
  maxAge: number | undefined;
}

/**
 * The session's authentication is too weak or too old for the route (RFC 9470): pages go through
 * `/auth/login` to the IdP for a stronger sign-in; API requests get 401
 * `insufficient_user_authentication` with the same challenge in `WWW-Authenticate`.
 */
export function stepUpRequired(api: boolean, loginUrl: string, stepUp: StepUp): Denial {
  if (!api) return { status: 302, headers: { 'cache-control': 'no-store', location: loginUrl }, body: '' };
  const description = stepUp.acr !== undefined ? `this resource needs a sign-in of level ${stepUp.acr}` : 'this resource needs a more recent sign-in';
  let challenge = `Bearer error="insufficient_user_authentication", error_description="${description}"`;
  if (stepUp.acr !== undefined) challenge += `, acr_values="${stepUp.acr}"`;
  if (stepUp.maxAge !== undefined) challenge += `, max_age=${stepUp.maxAge}`;
  const body: Record<string, unknown> = { error: 'insufficient_user_authentication', error_description: description };
  if (stepUp.acr !== undefined) body.acr_values = stepUp.acr;
  if (stepUp.maxAge !== undefined) body.max_age = stepUp.maxAge;
  body.login_url = loginUrl;
  return {
    status: 401,
    headers: { 'cache-control': 'no-store', 'content-type': 'application/json', 'www-authenticate': challenge },
    body: JSON.stringify(body),
  };
}

/** A request target Tessera will not interpret (encoded slashes, backslashes, control characters). */
export function badRequestTarget(api: boolean, reason: string): Denial {
  const description = `The request path cannot be accepted: ${reason}.`;
  if (api) return { status: 400, headers: { 'cache-control': 'no-store', 'content-type': 'application/json', connection: 'close' }, body: JSON.stringify({ error: 'invalid_request', error_description: description }) };
  return { status: 400, headers: { ...pageHeaders, connection: 'close' }, body: messagePage('Bad request', description) };
}

/** The same request under its canonical path (308 keeps the method and body). */
export function canonicalRedirect(target: string): Denial {
  return { status: 308, headers: { 'cache-control': 'no-store', location: target }, body: '' };
}

const unavailableMessage = 'The session store is not answering right now. Please try again in a moment.';

/**
 * A store outage: a clear 503 (the same page or JSON the `/auth/*` routes give), never a 401 that
 * would look like a logout, and the cookie is left alone.
 */
export function storeUnavailable(api: boolean, requestId?: string): Denial {
  const headers = { 'cache-control': 'no-store', 'retry-after': '5', 'x-content-type-options': 'nosniff' };
  if (api) {
    return { status: 503, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ error: 'temporarily_unavailable', error_description: unavailableMessage }) };
  }
  return {
    status: 503,
    headers: {
      ...headers,
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    },
    body: messagePage('Temporarily unavailable', unavailableMessage, { href: '', label: 'Try again' }, requestId),
  };
}

export function toResponse(denial: Denial): Response {
  return new Response(denial.body || null, { status: denial.status, headers: denial.headers });
}
