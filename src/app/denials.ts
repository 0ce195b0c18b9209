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

const unavailableMessage = 'The session store is not answering right now. Please try again in a moment.';

/**
 * A store outage: a clear 503 (the same page or JSON the `/auth/*` routes give), never a 401 that
 * would look like a logout, and the cookie is left alone.
 */
export function storeUnavailable(api: boolean): Denial {
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
    body: messagePage('Temporarily unavailable', unavailableMessage),
  };
}

export function toResponse(denial: Denial): Response {
  return new Response(denial.body || null, { status: denial.status, headers: denial.headers });
}
