import { isTesseraError } from '../errors.js';
import type { Session, SessionManager } from '../session/manager.js';
import { loginRequired, storeUnavailable, type Denial } from './denials.js';
import { isApiRequest } from './request-kind.js';
import { isAuthPath } from './router.js';

/** What the core needs to know of a request, from any framework. Headers are read lazily. */
export interface RequestFacts {
  /** Path and query as the client sent them (origin-form), e.g. `/reports?q=1`. */
  url: string;
  /** The `Cookie` header (several lines joined with "; "). */
  cookie: string | undefined;
  /** A request header by lower-case name (first value). Only read when the request is denied. */
  header(name: string): string | null | undefined;
  /** The request as a Web `Request`; only built for `/auth/*`. */
  request(): Request;
}

export interface DecideOptions {
  /** When false, requests without a session pass with `session: undefined`. Default true. */
  required?: boolean;
}

/**
 * The one decision every adapter and the gateway translate: answer `/auth/*` (`respond`), let the
 * request go on with its session (`pass`), or turn it away (`deny`: 302/401 for no session, 503
 * when the store is out) — as plain data.
 */
export type Decision =
  | { kind: 'pass'; session: Session | undefined }
  | { kind: 'respond'; response: Response }
  | { kind: 'deny'; denial: Denial };

export function loginUrlFor(returnTo: string, renew = false): string {
  return `/auth/login?returnTo=${encodeURIComponent(returnTo)}${renew ? '&silent=1' : ''}`;
}

export function createDecide(sessions: SessionManager, handle: (request: Request) => Promise<Response | null>) {
  return async function decide(facts: RequestFacts, options: DecideOptions = {}): Promise<Decision> {
    try {
      if (isAuthPath(facts.url)) {
        const response = await handle(facts.request());
        if (response !== null) return { kind: 'respond', response };
      }
      const result = await sessions.authenticate(facts.cookie);
      if (result.authenticated) return { kind: 'pass', session: result.session };
      if (options.required === false) return { kind: 'pass', session: undefined };
      return { kind: 'deny', denial: loginRequired(isApiRequest(facts.header), loginUrlFor(facts.url, result.renew), result.clearCookie) };
    } catch (err) {
      // An outage is a clear 503, never a 401 that would look like a logout.
      if (isTesseraError(err) && err.transient) return { kind: 'deny', denial: storeUnavailable(isApiRequest(facts.header)) };
      throw err;
    }
  };
}
