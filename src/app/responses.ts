/** Response helpers for the `/auth/*` routes. Every one of them is `Cache-Control: no-store`. */

const securityHeaders: Record<string, string> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const htmlHeaders: Record<string, string> = {
  ...securityHeaders,
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
};

function withCookies(headers: Record<string, string>, cookies: readonly string[]): Headers {
  const h = new Headers(headers);
  for (const cookie of cookies) h.append('set-cookie', cookie);
  return h;
}

export function json(status: number, body: unknown, cookies: readonly string[] = []): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: withCookies({ ...securityHeaders, 'content-type': 'application/json' }, cookies),
  });
}

export function html(status: number, body: string, cookies: readonly string[] = []): Response {
  return new Response(body, { status, headers: withCookies(htmlHeaders, cookies) });
}

export function redirect(location: string, cookies: readonly string[] = [], status = 302): Response {
  return new Response(null, { status, headers: withCookies({ ...securityHeaders, location }, cookies) });
}
