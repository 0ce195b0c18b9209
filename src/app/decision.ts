import { defaultRule, matchRoute, type RouteRule } from '../config/routes.js';
import { isTesseraError } from '../errors.js';
import { normalisePath } from '../lib/path.js';
import { acrMeets } from '../oidc/acr.js';
import { DEFAULT_CLOCK_TOLERANCE } from '../tokens/index.js';
import type { Session, SessionManager } from '../session/manager.js';
import type { AuthHandler } from './router.js';
import { badRequestTarget, canonicalRedirect, forbidden, loginRequired, stepUpRequired, storeUnavailable, type Denial } from './denials.js';
import { newRequestId } from './pages.js';
import { isApiRequest } from './request-kind.js';
import type { Logger } from '../observability/log.js';
import { isAuthPath } from './router.js';

/** What the core needs to know of a request, from any framework. Headers are read lazily. */
export interface RequestFacts {
  /** Path and query as the client sent them (origin-form), e.g. `/reports?q=1`. */
  url: string;
  /** Upper-case method; default GET. Route rules may be limited to methods. */
  method?: string;
  /** The `Cookie` header (several lines joined with "; "). */
  cookie: string | undefined;
  /** A request header by lower-case name (first value). Only read when the request is denied. */
  header(name: string): string | null | undefined;
  /** The request as a Web `Request` for `target` (its canonical path and query); only built for `/auth/*`. */
  request(target: string): Request;
  /**
   * The client's IP address: the socket peer in the adapters, the client `TESSERA_TRUSTED_PROXIES`
   * name in the gateway. Read for session binding's `ip-prefix` signal and at sign-in.
   */
  clientAddress?(): string | undefined;
}

/** What a route needs, for a per-route guard (`requireSession`) instead of the configured rules. */
export interface Requirement {
  roles?: readonly string[];
  acr?: string;
  /** Seconds since the user authenticated, at most. */
  maxAge?: number;
}

export interface DecideOptions {
  /** When false, a path no rule matches is optional instead of required. Default true. */
  required?: boolean;
  /** Decide by this requirement alone (a session is required), not by the route rules; `/auth/*` is not served. */
  require?: Requirement;
  /**
   * A path not in its canonical spelling (`/public/../admin`, `/%61dmin`, `/a//b`): `redirect`
   * (default) answers 308 to the canonical path, so a framework only ever routes what the rules
   * matched; `forward` passes it on as `target` (the gateway sends the upstream that path).
   */
  canonical?: 'redirect' | 'forward';
}

/**
 * The one decision every adapter and the gateway translate: answer `/auth/*` (`respond`), let the
 * request go on (`pass`), or turn it away (`deny`, as plain data: 302/401 for no session, 403 for
 * a missing role, step-up for a too weak or too old sign-in, 400 for a path Tessera will not
 * interpret, 503 when the store is out).
 */
export type Decision =
  | {
      kind: 'pass';
      /** The signed-in user; undefined on `auth: "none"` and `"optional"` routes without a session. */
      session: Session | undefined;
      /** The rule that admitted the request. */
      rule: RouteRule;
      /** The canonical path and the query: what the rule matched, and exactly what the application must receive. */
      target: string;
      /** A `Set-Cookie` clearing a dead session cookie (optional routes), to add to the response. */
      clearCookie: string | undefined;
    }
  | { kind: 'respond'; response: Response }
  | { kind: 'deny'; denial: Denial };

export function loginUrlFor(returnTo: string, renew = false, stepUp?: { acr: string | undefined; maxAge: number | undefined }): string {
  let url = `/auth/login?returnTo=${encodeURIComponent(returnTo)}${renew ? '&silent=1' : ''}`;
  if (stepUp?.acr !== undefined) url += `&acr=${encodeURIComponent(stepUp.acr)}`;
  if (stepUp?.maxAge !== undefined) url += `&max_age=${stepUp.maxAge}`;
  return url;
}

/**
 * `silentSso`: a page request without a session goes to the login with `silent=1` (`prompt=none`
 * first, then the interactive form if the IdP needs it); API requests keep their 401.
 */
export function createDecide(sessions: SessionManager, handle: AuthHandler, rules: readonly RouteRule[], settings: { silentSso: boolean; logger?: Logger } = { silentSso: false }) {
  const silentSso = settings.silentSso;
  const logger = settings.logger;
  return async function decide(facts: RequestFacts, options: DecideOptions = {}): Promise<Decision> {
    const api = () => isApiRequest(facts.header);
    const normalised = normalisePath(facts.url);
    if (!normalised.ok) return { kind: 'deny', denial: badRequestTarget(api(), normalised.reason) };
    const target = normalised.path + normalised.query;
    if (target !== facts.url && options.canonical !== 'forward') return { kind: 'deny', denial: canonicalRedirect(target) };
    try {
      let rule: RouteRule;
      if (options.require !== undefined) {
        rule = ruleFor(options.require);
      } else {
        if (isAuthPath(normalised.path)) {
          const response = await handle(facts.request(target), { address: facts.clientAddress?.() });
          if (response !== null) return { kind: 'respond', response };
        }
        const matched = matchRoute(rules, normalised.path, facts.method ?? 'GET');
        if (matched === undefined) return { kind: 'deny', denial: badRequestTarget(api(), 'it reads as another route when its ";" parameters or its letter case are ignored, as some servers do') };
        rule = matched;
        if (rule === defaultRule && options.required === false) rule = optionalRule;
      }
      if (rule.auth === 'none') return { kind: 'pass', session: undefined, rule, target, clearCookie: undefined };

      const result = await sessions.authenticate(facts.cookie, Date.now(), facts);
      if (!result.authenticated) {
        if (rule.auth === 'optional') return { kind: 'pass', session: undefined, rule, target, clearCookie: result.clearCookie };
        return { kind: 'deny', denial: noSession(api(), target, result.clearCookie, silentSso, result.renew) };
      }
      const session = result.session;
      if (rule.roles !== undefined && !rule.roles.some((role) => session.roles.includes(role))) {
        const requestId = newRequestId();
        logger?.warn({ requestId, status: 403, path: normalised.path, ref: session.ref }, 'access denied: missing role');
        return { kind: 'deny', denial: forbidden(api(), `This page needs one of the roles ${rule.roles.join(', ')}.`, requestId) };
      }
      const stepUp = stepUpFor(rule, session);
      if (stepUp !== undefined) return { kind: 'deny', denial: stepUpRequired(api(), loginUrlFor(target, false, stepUp), stepUp) };
      return { kind: 'pass', session, rule, target, clearCookie: undefined };
    } catch (err) {
      // An outage is a clear 503, never a 401 that would look like a logout.
      if (isTesseraError(err) && err.transient) {
        const requestId = newRequestId();
        logger?.warn({ requestId, status: 503, code: err.code }, 'session store unavailable');
        return { kind: 'deny', denial: storeUnavailable(api(), requestId) };
      }
      throw err;
    }
  };
}

/**
 * The answer to a request without a valid session: a page goes to the login (with `silent=1`,
 * `prompt=none` first, under silent SSO or for a renewal), an API call gets 401.
 */
export function noSession(api: boolean, target: string, clearCookie: string | undefined, silentSso: boolean, renew = false): Denial {
  return loginRequired(api, loginUrlFor(target, renew || (silentSso && !api)), clearCookie);
}

const optionalRule: RouteRule = Object.freeze({ ...defaultRule, auth: 'optional' }) as RouteRule;

function ruleFor(requirement: Requirement): RouteRule {
  return {
    ...defaultRule,
    roles: requirement.roles === undefined || requirement.roles.length === 0 ? undefined : [...requirement.roles],
    acr: requirement.acr,
    maxAgeMs: requirement.maxAge === undefined ? undefined : requirement.maxAge * 1000,
  };
}

/** What the session lacks for `rule` (RFC 9470), or undefined when it is strong and recent enough. */
function stepUpFor(rule: RouteRule, session: Session, now = Date.now()): { acr: string | undefined; maxAge: number | undefined } | undefined {
  const weak = rule.acr !== undefined && !acrMeets(session.acr, [rule.acr]);
  const maxAge = rule.maxAgeMs === undefined ? undefined : Math.floor(rule.maxAgeMs / 1000);
  // The same clock tolerance the callback grants `auth_time`: a sign-in it accepted is not sent back again.
  const stale = maxAge !== undefined && (session.authTime === undefined || now / 1000 - session.authTime > maxAge + DEFAULT_CLOCK_TOLERANCE);
  if (!weak && !stale) return undefined;
  // The challenge names every requirement of the route (RFC 9470), so one sign-in meets them all.
  return { acr: rule.acr, maxAge };
}
