import { isTesseraError } from '../../errors.js';
import type { RouteContext } from '../context.js';
import { messagePage, newRequestId } from '../pages.js';
import { isApiRequest } from '../request-kind.js';
import { html, json } from '../responses.js';

/** A problem shown to the user: HTML for browsers, JSON for API clients. */
export function problem(request: Request, status: number, error: string, title: string, message: string, cookies: readonly string[] = [], action?: { href: string; label: string }, requestId?: string): Response {
  if (isApiRequest((n) => request.headers.get(n))) {
    return json(status, { error, error_description: message, ...(action ? { login_url: action.href } : {}) }, cookies);
  }
  return html(status, messagePage(title, message, action, requestId), cookies);
}

/** Maps an unexpected failure to a clear answer: 503 when a dependency is down, never a raw 500. */
export function failure(ctx: Pick<RouteContext, 'logger'>, request: Request, err: unknown, cookies: readonly string[] = []): Response {
  const requestId = newRequestId();
  if (isTesseraError(err) && err.transient) {
    // Unusable IdP metadata (another issuer, a missing endpoint) is a configuration to fix, not an outage to wait out.
    const misconfigured = err.code === 'ERR_IDP_METADATA';
    ctx.logger[misconfigured ? 'error' : 'warn']({ requestId, code: err.code, error: err.message }, misconfigured ? 'identity provider metadata unusable' : 'dependency unavailable');
    const what = isTesseraError(err, 'ERR_STORE_') ? 'The session store' : 'The identity provider';
    const [title, message] = misconfigured
      ? ['Sign-in is not available', 'The identity provider\'s settings do not match this site\'s configuration, so sign-in cannot start. The site\'s operators can find the details in its log.']
      : ['Temporarily unavailable', `${what} is not answering right now. Please try again in a moment.`];
    const response = problem(request, 503, 'temporarily_unavailable', title, message, cookies, undefined, requestId);
    response.headers.set('retry-after', '5'); // as the gateway's own 503s
    return response;
  }
  ctx.logger.error({ requestId, error: err instanceof Error ? err.stack ?? err.message : String(err) }, 'request failed');
  return problem(request, 500, 'server_error', 'Something went wrong', 'The request could not be completed. Please try again.', cookies, undefined, requestId);
}
