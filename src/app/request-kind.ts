/**
 * API requests get `401` JSON, pages get redirects (DESIGN §1). A request is an API request
 * when it asks for JSON, is a CORS fetch, says it is an XHR, or is a WebSocket handshake (a
 * socket cannot follow a redirect to a login page).
 */
export function isApiRequest(get: (name: string) => string | null | undefined): boolean {
  if (get('upgrade')) return true;
  const accept = get('accept');
  if (accept && accept.includes('application/json') && !accept.includes('text/html')) return true;
  if (get('sec-fetch-mode') === 'cors') return true;
  return Boolean(get('x-requested-with'));
}
