import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseDuration } from '../lib/duration.js';
import { isUnder, normalisePath } from '../lib/path.js';

/**
 * Route rules (`TESSERA_ROUTES`): an ordered list, the first rule that matches a request wins, and
 * a path no rule matches needs a session (`{ "auth": "required" }`).
 */
export interface RouteRule {
  /** A canonical path; matches itself and everything below it on segment boundaries. */
  path: string;
  /** Match only `path` itself. */
  exact: boolean;
  /** Upper-case methods; undefined = every method. */
  methods: string[] | undefined;
  auth: 'required' | 'optional' | 'none';
  /** Any of these roles; undefined = any session. */
  roles: string[] | undefined;
  /** Step-up: the session's `acr` must satisfy this. */
  acr: string | undefined;
  /** Step-up: the user must have authenticated at most this long ago (ms). */
  maxAgeMs: number | undefined;
  /** This rule's upstream origin; undefined = `TESSERA_UPSTREAM`. */
  upstream: string | undefined;
}

/** What applies to a path no rule matches. */
export const defaultRule: RouteRule = Object.freeze({
  path: '/', exact: false, methods: undefined, auth: 'required', roles: undefined, acr: undefined, maxAgeMs: undefined, upstream: undefined,
}) as RouteRule;

const token = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/, 'expected an HTTP method such as GET');
const name = z.string().trim().min(1, 'expected a non-empty string').max(256);

const ruleSchema = z.object({
  path: z.string().refine((p) => {
    const n = normalisePath(p);
    return n.ok && n.path === p && n.query === '' && !p.includes(';');
  }, 'expected a canonical path starting with "/" (no "..", "//", "%2f", ";", query or control characters), e.g. /admin'),
  exact: z.boolean({ error: 'expected true or false' }).default(false),
  methods: z.array(token, { error: 'expected a list of HTTP methods, e.g. ["GET", "POST"]' }).min(1, 'expected at least one method').transform((m) => m.map((x) => x.toUpperCase())).optional(),
  auth: z.enum(['required', 'optional', 'none'], { error: 'expected "required", "optional" or "none"' }).default('required'),
  roles: z.array(name, { error: 'expected a list of role names, e.g. ["admin"]' }).min(1, 'expected at least one role').optional(),
  acr: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'expected an acr value such as mfa').optional(),
  maxAge: z.union([z.number().positive(), z.string()], { error: 'expected a duration such as 10m' }).transform((v, ctx) => {
    const ms = typeof v === 'number' ? v * 1000 : parseDuration(v);
    if (ms === undefined || ms < 1000) {
      ctx.addIssue({ code: 'custom', message: 'expected a duration of at least one second, such as 90s, 10m or 1h' });
      return z.NEVER;
    }
    return ms;
  }).optional(),
  upstream: z.string().refine((v) => {
    try {
      const url = new URL(v);
      return (url.protocol === 'http:' || url.protocol === 'https:') && (url.pathname === '/' || url.pathname === '') && !url.search;
    } catch {
      return false;
    }
  }, 'expected an http(s) origin such as http://127.0.0.1:8081').transform((v) => new URL(v).origin).optional(),
}, { error: 'expected a rule object such as {"path": "/admin", "roles": ["admin"]}' }).strict().superRefine((rule, ctx) => {
  if (rule.auth === 'required') return;
  for (const field of ['roles', 'acr', 'maxAge'] as const) {
    if (rule[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: `needs a session: use "auth": "required" (not "${rule.auth}") with ${field}` });
  }
}).transform((rule): RouteRule => ({
  path: rule.path,
  exact: rule.exact,
  methods: rule.methods,
  auth: rule.auth,
  roles: rule.roles,
  acr: rule.acr,
  maxAgeMs: rule.maxAge,
  upstream: rule.upstream,
}));

/**
 * `routes`: a list of rules, inline JSON (a string starting with `[`), or the path of a JSON
 * file holding the list.
 */
export const routesSchema = z.union([z.array(z.unknown()), z.string()], { error: 'expected a list of rules, inline JSON starting with "[", or the path of a JSON file' })
  .transform((value, ctx) => {
    if (Array.isArray(value)) return value;
    const text = value.trim();
    let json = text;
    if (!text.startsWith('[')) {
      try {
        json = readFileSync(text, 'utf8');
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `cannot read the rules file ${JSON.stringify(text)}: ${(err as Error).message}` });
        return z.NEVER;
      }
    }
    try {
      return JSON.parse(json) as unknown;
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `not valid JSON: ${(err as Error).message}` });
      return z.NEVER;
    }
  })
  .pipe(z.array(ruleSchema, { error: 'expected a JSON list of rules' }));

/**
 * The rule for a canonical path and method: the first that matches, else `defaultRule`. The path
 * is also read as servers that differ from us would read it — without `;` parameters (Tomcat,
 * Spring) and without case (Express, IIS) — and when a reading picks another rule, the path is
 * ambiguous: undefined, and the request is refused rather than guessed.
 */
export function matchRoute(rules: readonly RouteRule[], path: string, method: string): RouteRule | undefined {
  if (rules.length === 0) return defaultRule;
  const rule = firstMatch(rules, path, method, false);
  if (path.includes(';')) {
    const stripped = normalisePath(path.replace(/;[^/]*/g, ''));
    if (!stripped.ok || firstMatch(rules, stripped.path, method, false) !== rule) return undefined;
  }
  if (/[A-Z]/.test(path) && firstMatch(rules, path.toLowerCase(), method, true) !== rule) return undefined;
  return rule;
}

function firstMatch(rules: readonly RouteRule[], path: string, method: string, lowerCase: boolean): RouteRule {
  for (const rule of rules) {
    if (rule.methods !== undefined && !rule.methods.includes(method)) continue;
    const prefix = lowerCase ? rule.path.toLowerCase() : rule.path;
    if (rule.exact ? path === prefix : isUnder(path, prefix)) return rule;
  }
  return defaultRule;
}
