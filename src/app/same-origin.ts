import type { TesseraConfig } from '../config/index.js';

/**
 * The logout rule for requests that change state: `Origin` is the public origin, or — when the
 * browser sent no `Origin` (or `Origin: null`) — `Sec-Fetch-Site: same-origin`. `true`/`false`
 * when the headers decide, `undefined` when they say nothing (logout then looks for its form's CSRF token).
 */
export function sameOrigin(config: TesseraConfig, request: Request): boolean | undefined {
  const origin = request.headers.get('origin');
  if (origin !== null) {
    if (origin === config.publicUrl) return true;
    if (origin !== 'null') return false;
  }
  const site = request.headers.get('sec-fetch-site');
  if (site === 'same-origin') return true;
  if (site === 'cross-site' || site === 'same-site') return false;
  return undefined;
}
