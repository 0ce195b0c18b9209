/**
 * API requests get `401` JSON, pages get redirects (DESIGN §1). A request is an API request
 * when it asks for JSON, is a CORS fetch, or says it is an XHR.
 */
export function isApiRequest(get: (name: string) => string | null | undefined): boolean {
  const accept = get('accept');
  if (accept && accept.includes('application/json') && !accept.includes('text/html')) return true;
  if (get('sec-fetch-mode') === 'cors') return true;
  return Boolean(get('x-requested-with'));
}
