import { z } from 'zod';
import { safeReturnTo } from '../lib/return-to.js';
import { parseDuration } from '../lib/duration.js';
import { parseCidr, parseListenAddress } from './network.js';
import { routesSchema } from './routes.js';
import { mosaicDiscoveryPath, mosaicLogoutUrlFor, mosaicRegions, type MosaicRegion } from './mosaic.js';
import { storeSpecProblem } from './store-spec.js';

/** Every setting: its environment name (also the key in a `--config` JSON file) and option name. */
export const settingNames = {
  TESSERA_PUBLIC_URL: 'publicUrl',
  TESSERA_PORT: 'port',
  TESSERA_HOST: 'host',
  TESSERA_ISSUER: 'issuer',
  TESSERA_DISCOVERY_URL: 'discoveryUrl',
  TESSERA_MOSAIC_REGION: 'mosaicRegion',
  TESSERA_CLIENT_ID: 'clientId',
  TESSERA_CLIENT_SECRET: 'clientSecret',
  TESSERA_SCOPES: 'scopes',
  TESSERA_RESOURCE: 'resource',
  TESSERA_AUDIENCE: 'audience',
  TESSERA_TENANT_ID: 'tenantId',
  TESSERA_ALGORITHMS: 'algorithms',
  TESSERA_ACR_VALUES: 'acrValues',
  TESSERA_STORE: 'store',
  TESSERA_KEYS: 'keys',
  TESSERA_UPSTREAM: 'upstream',
  TESSERA_ROUTES: 'routes',
  TESSERA_IDLE_TIMEOUT: 'idleTimeout',
  TESSERA_ABSOLUTE_TIMEOUT: 'absoluteTimeout',
  TESSERA_SILENT_AUTH: 'silentAuth',
  TESSERA_SILENT_SSO: 'silentSso',
  TESSERA_TOKEN_RELAY: 'tokenRelay',
  TESSERA_ADMIN_TOKEN: 'adminToken',
  TESSERA_LOG_LEVEL: 'logLevel',
  TESSERA_COOKIE_NAME: 'cookieName',
  TESSERA_COOKIE_SAMESITE: 'cookieSameSite',
  TESSERA_LOGOUT_API_URL: 'logoutApiUrl',
  TESSERA_END_SESSION: 'endSession',
  TESSERA_POST_LOGOUT_PATH: 'postLogoutPath',
  TESSERA_BACKCHANNEL_LOGOUT: 'backchannelLogout',
  TESSERA_SESSION_CACHE_TTL: 'sessionCacheTtl',
  TESSERA_SESSION_BINDING: 'sessionBinding',
  TESSERA_SESSION_BINDING_SIGNALS: 'sessionBindingSignals',
  TESSERA_TRUSTED_PROXIES: 'trustedProxies',
  TESSERA_ALLOW_UNDERSCORE_HEADERS: 'allowUnderscoreHeaders',
  TESSERA_MAX_REQUESTS_PER_CLIENT: 'maxRequestsPerClient',
  TESSERA_SEND_TIMEOUT: 'sendTimeout',
  TESSERA_IDP_TIMEOUT: 'idpTimeout',
  TESSERA_SHUTDOWN_TIMEOUT: 'shutdownTimeout',
  TESSERA_METRICS_ADDRESS: 'metricsAddress',
  TESSERA_TRACE_CONTEXT: 'traceContext',
  TESSERA_WORKERS: 'workers',
  TESSERA_DATA_DIR: 'dataDir',
  TESSERA_DEVELOPMENT: 'development',
} as const;

export type SettingName = keyof typeof settingNames;

/**
 * What each setting means, by key: the one source of `docs/configuration.md` (`npm run docs`).
 * `shown` replaces the default taken from the schema where that needs words (a derived value).
 */
export const settingDocs: Partial<Record<SettingName, { description: string; shown?: string }>> = {
  TESSERA_PUBLIC_URL: { description: "the origin users reach; the redirect URI is `<public URL>/auth/callback`. https, or plain http on loopback for development. Decides the cookie: `__Host-<name>` (https) or `<name>` (`TESSERA_COOKIE_NAME`)", shown: "`http://localhost:<port>`" },
  TESSERA_PORT: { description: "gateway port" },
  TESSERA_HOST: { description: "gateway listen address (`0.0.0.0` in a container)" },
  TESSERA_ISSUER: { description: "the exact `iss` of tokens", shown: "from the region" },
  TESSERA_DISCOVERY_URL: { description: "where the discovery document is (Mosaic serves it on the API host, not on the issuer)", shown: "region's API host, else `<issuer>/.well-known/openid-configuration`" },
  TESSERA_MOSAIC_REGION: { description: "`us`, `eu`, `ca`, `au` or `sandbox`: fills the issuer, the discovery URL and the logout API. The sandbox issuer is not documented, so `sandbox` needs `TESSERA_ISSUER`" },
  TESSERA_CLIENT_ID: { description: "the confidential client's id (it authenticates with `client_secret_post`)" },
  TESSERA_CLIENT_SECRET: { description: "the confidential client's secret" },
  TESSERA_SCOPES: { description: "space- or comma-separated" },
  TESSERA_RESOURCE: { description: "requested resource; becomes the access token's `aud`" },
  TESSERA_AUDIENCE: { description: "the `aud` the access token must contain", shown: "resource, else `userid-api` for Mosaic" },
  TESSERA_TENANT_ID: { description: "when set, the access token's `tid` must equal it" },
  TESSERA_ALGORITHMS: { description: "allowed signing algorithms (RS*, PS*, ES*, EdDSA)" },
  TESSERA_ACR_VALUES: { description: "e.g. `mfa`: a floor sent on every login (silent ones too). `/auth/login?acr=` can only ask for more, never less, and a callback whose ID token `acr` does not satisfy what was asked is refused with 403 and creates no session" },
  TESSERA_STORE: { description: "`memory:`, `sqlite:<path>`, `redis://…`, `rediss://…`, `redis-cluster://h1:p1,h2:p2`, `redis-sentinel://h1:p1,h2:p2/<master>`, `postgres://…`; `?prefix=app:` on the Redis forms, `?table=name` on PostgreSQL (see [stores.md](stores.md))" },
  TESSERA_KEYS: { description: "sealing key ring, [below](#the-key-ring-tessera_keys)", shown: "required outside development" },
  TESSERA_UPSTREAM: { description: "the app the gateway proxies to", shown: "— (required by `tessera serve`)" },
  TESSERA_ROUTES: { description: "[route rules](#route-rules-tessera_routes): inline JSON when the value starts with `[`, otherwise the path of a JSON file holding the list; in a `--config` file the key `TESSERA_ROUTES` takes the list itself or either string", shown: "— (every path needs a session; `tessera dev` in front of its demo app sets the demo's rules)" },
  TESSERA_IDLE_TIMEOUT: { description: "session idle timeout (`90s`, `30m`, `12h`, `7d`)" },
  TESSERA_ABSOLUTE_TIMEOUT: { description: "session absolute timeout" },
  TESSERA_SILENT_AUTH: { description: "renew an expired access token with `prompt=none`; `false` turns every `prompt=none` off (silent SSO too)" },
  TESSERA_TOKEN_RELAY: { description: "send `Authorization: Bearer <access token>` upstream" },
  TESSERA_ADMIN_TOKEN: { description: "bearer token of `/auth/admin/*`, at least 32 characters", shown: "— (admin API off)" },
  TESSERA_LOG_LEVEL: { description: "`debug`, `info`, `warn`, `error`, `silent`: the level of the logger Tessera creates (JSON lines on stderr; readable lines in `tessera dev` on a terminal). A `logger` passed to `createTessera` keeps its own level" },
  TESSERA_COOKIE_SAMESITE: { description: "`Lax` or `Strict` (Strict can break SSO redirects)" },
  TESSERA_LOGOUT_API_URL: { description: "the IdP logout API called on logout; empty turns it off", shown: "Mosaic's `/cis/v1/auth/logout` when discovery is Mosaic-shaped" },
  TESSERA_END_SESSION: { description: "after logout continue to the IdP's `end_session_endpoint`" },
  TESSERA_POST_LOGOUT_PATH: { description: "same-origin path the browser lands on after logout instead of Tessera's own page, which says you are signed out (and, when the IdP session was ended too, that as well) and offers **Sign in again**", shown: "`/auth/signed-out`" },
  TESSERA_BACKCHANNEL_LOGOUT: { description: "serve `POST /auth/backchannel-logout`" },
  TESSERA_SESSION_CACHE_TTL: { description: "how long a live session is kept in process; stores shared by instances invalidate it at once on logout" },
  TESSERA_TRUSTED_PROXIES: { description: "addresses or CIDR ranges (`10.0.0.0/8, ::1`) of proxies in front of the gateway. Only from these peers are `Forwarded`, `X-Forwarded-*` and `X-Real-IP` kept; the client address is then the nearest untrusted hop of `X-Forwarded-For`. From anyone else they are dropped and the gateway sets `X-Forwarded-For` (the peer), `X-Forwarded-Proto` and `X-Forwarded-Host` (from the public URL, never the client's `Host`)", shown: "— (none)" },
  TESSERA_ALLOW_UNDERSCORE_HEADERS: { description: "pass client header names containing `_` upstream (nginx's `underscores_in_headers`). Names that read as `X-Tessera-*` with `_` taken as `-` are dropped either way" },
  TESSERA_MAX_REQUESTS_PER_CLIENT: { description: "concurrent proxied requests per client address; more answer `429` with `Retry-After`" },
  TESSERA_SEND_TIMEOUT: { description: "a response the client stops reading for this long is dropped and its upstream connection freed" },
  TESSERA_SILENT_SSO: { description: "a page request without a session (a route that needs one) goes to `/auth/login?…&silent=1`: the IdP is asked with `prompt=none` first, so an app a user has not used yet signs them in without a form when the IdP session lives (single sign-on across apps). On `login_required`, `interaction_required` or `consent_required` the login continues interactively; at most one silent try per login (a silent try still pending in the browser's transaction cookie makes the next login interactive), never a loop. API requests still get `401`" },
  TESSERA_COOKIE_NAME: { description: "the session cookie's name (`__Host-<name>` with an https public URL; its login transactions are `<name>-txn-…`). 1–64 letters, digits, `_`, `-`; not starting with `__Host-`/`__Secure-`. Two apps on one host (e.g. `localhost` in development, where cookies do not separate ports) need different names to keep separate sessions. The gateway strips its own cookies (and the default `tessera` ones) before the upstream; cookies of another app on the same host reach this app's upstream as any host-only cookie would, so give production apps hosts of their own" },
  TESSERA_SESSION_BINDING: { description: "bind a session to client properties seen at sign-in (Mosaic's cookie recommendations): `off`; `log` — a request whose client differs is served, logged as `session binding mismatch` (warn, with the session `ref` and the `signal`) and counted in `tessera_session_binding_mismatches_total{signal,action}`; `revoke` — as `log`, and the session ends at once (the page is sent to sign-in, an API gets `401`), so the cookie is useless from then on for its owner too. The values are stored as HMAC-SHA-256 keyed with the session id: the store, which holds only SHA-256 of the id, cannot read or test them. A signal not recorded at sign-in (binding turned on later) is not compared. A browser update changes the `User-Agent`: with `revoke` that user signs in again (silently while the IdP session lives)" },
  TESSERA_SESSION_BINDING_SIGNALS: { description: "which properties: `user-agent` and/or `ip-prefix` (the client's /24 for IPv4, /64 for IPv6; the client address is the socket peer, or behind `TESSERA_TRUSTED_PROXIES` the nearest untrusted hop of `X-Forwarded-For`). In the framework adapters the address is the socket peer (Hono: the node server's peer on `@hono/node-server`, otherwise none and `ip-prefix` is then not compared)" },
  TESSERA_IDP_TIMEOUT: { description: "the longest a request to the identity provider (discovery, token exchange, logout API) may take; a login during an IdP outage answers `503` within it" },
  TESSERA_SHUTDOWN_TIMEOUT: { description: "on `SIGTERM`, how long requests in flight may finish; idle keep-alive connections are closed at once, the rest at this bound; the process then exits 0" },
  TESSERA_WORKERS: { description: "`tessera serve` processes: `1`, a number up to 64, or `auto` (one per core, `os.availableParallelism()`). More than one runs on `node:cluster`: the workers share the port, a logout on one is seen by all at once (SQLite through the primary, Redis and PostgreSQL through their own channel), the primary serves the summed metrics and `/readyz`, and replaces a worker that dies. Not with the memory store" },
  TESSERA_METRICS_ADDRESS: { description: "`host:port` (`127.0.0.1:9464`, `[::1]:9464`) of a second listener serving `/metrics` (Prometheus), `/healthz` and `/readyz`. The public port answers `/metrics` with 404", shown: "— (no metrics listener)" },
  TESSERA_TRACE_CONTEXT: { description: "whose `traceparent` / `tracestate` the gateway continues when an OpenTelemetry SDK is registered: `trusted` — only a peer in `TESSERA_TRUSTED_PROXIES` (a client elsewhere starts a new trace, so it can neither join another trace nor decide sampling under a parent-based sampler); `always`; `never`. Either way the upstream gets the gateway's own trace context, once" },
  TESSERA_DATA_DIR: { description: "development key ring and dev IdP state" },
  TESSERA_DEVELOPMENT: { description: "allows a generated key ring kept in the data folder (`tessera dev` sets it)" },
};
type OptionName = (typeof settingNames)[SettingName];
export const optionToSetting = Object.fromEntries(
  Object.entries(settingNames).map(([env, option]) => [option, env]),
) as Record<OptionName, SettingName>;

/** Settings whose values are masked when printed. */
export const secretOptions: ReadonlySet<OptionName> = new Set(['clientSecret', 'keys', 'adminToken']);

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);
export const isLoopbackUrl = (url: URL) => loopbackHosts.has(url.hostname);

const text = z.string().trim().min(1);
const list = z.union([z.array(text), z.string()], { error: 'expected a list separated by spaces or commas' }).transform((v) =>
  (Array.isArray(v) ? v : v.split(/[\s,]+/)).map((s) => s.trim()).filter(Boolean),
);
const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])], { error: 'expected true or false' })
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');
const duration = z.union([z.number().positive(), z.string()], { error: 'expected a duration such as 90s, 30m, 12h or 7d' }).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v * 1000 : parseDuration(v);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as 90s, 30m, 12h or 7d' });
    return z.NEVER;
  }
  return ms;
});
const httpUrl = z.string().trim().refine((v) => {
  try { return ['http:', 'https:'].includes(new URL(v).protocol); } catch { return false; }
}, 'expected an absolute http(s) URL');
const port = z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)], { error: 'expected a port number 0-65535' })
  .pipe(z.number().int().min(0, 'expected a port number 0-65535').max(65535, 'expected a port number 0-65535'));
// The same rule as `returnTo`: the path must come back unchanged from safeReturnTo.
const relativePath = z.string().refine((v) => safeReturnTo(v, '') === v, 'expected a same-origin path starting with a single "/" (no host, backslash, control character or encoded slash)');

const cidrList = list.superRefine((entries, ctx) => {
  for (const entry of entries) {
    if (parseCidr(entry) === undefined) ctx.addIssue({ code: 'custom', message: `"${entry}" is not an IP address or CIDR range (e.g. 10.0.0.0/8, 127.0.0.1, ::1/128)` });
  }
});
const positiveInt = z.union([z.number(), z.string().regex(/^\d+$/, 'expected a whole number of at least 1').transform(Number)], { error: 'expected a whole number of at least 1' })
  .pipe(z.number().int('expected a whole number of at least 1').min(1, 'expected a whole number of at least 1'));
// `auto` = one per core this process may use (os.availableParallelism()).
const workerCount = z.union([
  z.literal('auto'),
  z.number(),
  z.string().regex(/^\d+$/, 'expected auto or a whole number from 1 to 64').transform(Number),
], { error: 'expected auto or a whole number from 1 to 64' })
  .pipe(z.union([z.literal('auto'), z.number().int().min(1, 'expected auto or a whole number from 1 to 64').max(64, 'expected auto or a whole number from 1 to 64')]));
const listenAddress = z.string().trim().refine((v) => parseListenAddress(v) !== undefined, 'expected host:port, e.g. 127.0.0.1:9464 or [::1]:9464');

const allowedAlgorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

export const optionsSchema = z.object({
  publicUrl: httpUrl.optional(),
  port: port.default(3000),
  host: text.default('127.0.0.1'),
  issuer: httpUrl.optional(),
  discoveryUrl: httpUrl.optional(),
  mosaicRegion: z.enum(Object.keys(mosaicRegions) as [MosaicRegion, ...MosaicRegion[]], {
    error: `expected one of ${Object.keys(mosaicRegions).join(', ')}`,
  }).optional(),
  clientId: text,
  clientSecret: text,
  scopes: list.default(['openid']),
  resource: httpUrl.or(text).optional(),
  audience: text.optional(),
  tenantId: text.optional(),
  algorithms: list.pipe(z.array(z.enum(allowedAlgorithms, {
    error: `expected algorithms from ${allowedAlgorithms.join(', ')}`,
  })).min(1)).default(['RS256']),
  acrValues: text.refine((v) => v.split(/\s+/).every((value) => /^[A-Za-z0-9_.:-]{1,64}$/.test(value)), 'expected acr values separated by spaces, e.g. mfa (letters, digits, _ . : -)').optional(),
  store: text.superRefine((v, ctx) => {
    const problem = v === '' ? undefined : storeSpecProblem(v); // empty: already reported as too small
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  }).default('sqlite:./.tessera/sessions.db'),
  keys: text.optional(),
  upstream: httpUrl.optional(),
  routes: routesSchema.default([]),
  idleTimeout: duration.default(30 * 60_000),
  absoluteTimeout: duration.default(12 * 3_600_000),
  silentAuth: bool.default(true),
  silentSso: bool.default(true),
  tokenRelay: bool.default(false),
  adminToken: z.string().min(32, 'expected at least 32 characters').optional(),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  cookieName: z.string().trim().regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1 to 64 letters, digits, _ or - (e.g. tessera or app-b)')
    .refine((v) => !/^__(host|secure)-/i.test(v), 'expected a name without the __Host- or __Secure- prefix (Tessera adds __Host- on https)').default('tessera'),
  cookieSameSite: z.enum(['lax', 'strict', 'Lax', 'Strict']).transform((v) => (v.toLowerCase() === 'strict' ? 'Strict' : 'Lax') as 'Lax' | 'Strict').default('Lax'),
  logoutApiUrl: z.union([httpUrl, z.literal('')]).optional(),
  endSession: bool.default(false),
  postLogoutPath: relativePath.optional(),
  backchannelLogout: bool.default(false),
  sessionCacheTtl: duration.default(5000),
  sessionBinding: z.enum(['off', 'log', 'revoke'], { error: 'expected off, log or revoke' }).default('off'),
  sessionBindingSignals: list.pipe(z.array(z.enum(['user-agent', 'ip-prefix'], { error: 'expected user-agent and/or ip-prefix' }))
    .min(1, 'expected user-agent and/or ip-prefix')).default(['user-agent']),
  trustedProxies: cidrList.default([]),
  allowUnderscoreHeaders: bool.default(false),
  maxRequestsPerClient: positiveInt.default(64),
  sendTimeout: duration.default(30_000),
  idpTimeout: duration.default(5000),
  shutdownTimeout: duration.default(10_000),
  metricsAddress: listenAddress.optional(),
  traceContext: z.enum(['trusted', 'always', 'never'], { error: 'expected trusted, always or never' }).default('trusted'),
  workers: workerCount.default(1),
  dataDir: text.default('.tessera'),
  development: bool.default(false),
}).strict().superRefine((o, ctx) => {
  const at = (option: OptionName, message: string) => ctx.addIssue({ code: 'custom', path: [option], message });
  if (o.mosaicRegion === undefined && o.issuer === undefined) at('issuer', 'required (or set TESSERA_MOSAIC_REGION)');
  if (o.mosaicRegion === 'sandbox' && o.issuer === undefined) at('issuer', 'required with TESSERA_MOSAIC_REGION=sandbox (its issuer is not documented)');
  if (o.workers !== 1 && typeof o.store === 'string' && /^memory:/i.test(o.store)) at('workers', 'the memory store lives in one process: use sqlite:, redis:// or postgres:// with more than one worker');
  if (o.keys === undefined && o.development !== true) at('keys', 'required outside development (run `tessera keys generate`)');
  if (typeof o.absoluteTimeout === 'number' && typeof o.idleTimeout === 'number' && o.absoluteTimeout < o.idleTimeout) at('absoluteTimeout', 'must not be shorter than TESSERA_IDLE_TIMEOUT');
  for (const option of ['publicUrl', 'issuer', 'discoveryUrl'] as const) {
    const value = o[option];
    if (typeof value !== 'string' || !URL.canParse(value)) continue;
    const url = new URL(value);
    if (url.protocol === 'http:' && !isLoopbackUrl(url)) at(option, 'must be https unless it is a loopback development URL');
  }
  if (typeof o.publicUrl === 'string' && URL.canParse(o.publicUrl)) {
    const url = new URL(o.publicUrl);
    if (url.pathname !== '/' || url.search || url.hash) at('publicUrl', 'expected an origin without a path, e.g. https://app.example.com');
  }
}, { when: () => true }); // cross-field rules run even when a field failed: one round shows every problem

export type TesseraOptionsInput = z.input<typeof optionsSchema>;
type Parsed = z.output<typeof optionsSchema>;

/** The resolved configuration: every default applied, every derived endpoint filled in. */
export interface TesseraConfig extends Omit<Parsed, 'publicUrl' | 'issuer' | 'discoveryUrl' | 'logoutApiUrl' | 'mosaicRegion' | 'idleTimeout' | 'absoluteTimeout' | 'sessionCacheTtl' | 'sendTimeout' | 'idpTimeout' | 'shutdownTimeout' | 'metricsAddress'> {
  publicUrl: string;
  issuer: string;
  discoveryUrl: string;
  mosaicRegion: MosaicRegion | undefined;
  /** Mosaic's logout API, or undefined when there is none. */
  logoutApiUrl: string | undefined;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  sessionCacheTtlMs: number;
  /** How long a response may wait for a client that stopped reading before the connection is dropped. */
  sendTimeoutMs: number;
  /** The longest any request to the identity provider (discovery, token exchange, JWKS, logout API) may take. */
  idpTimeoutMs: number;
  /** On SIGTERM: how long in-flight requests may take before their connections are closed. */
  shutdownTimeoutMs: number;
  /** Where `/metrics`, `/healthz` and `/readyz` are served; undefined = no metrics listener. */
  metricsAddress: { host: string; port: number } | undefined;
  /** Whether the session cookie is `__Host-<cookieName>` (https) or `<cookieName>` (plain-http development). */
  secureCookies: boolean;
}

/** Marks a configuration as resolved (defaults applied, endpoints derived), so it is never parsed again. */
const resolved: unique symbol = Symbol('tessera.resolvedConfig');

export function isResolvedConfig(value: unknown): value is TesseraConfig {
  return typeof value === 'object' && value !== null && (value as { [resolved]?: unknown })[resolved] === true;
}

export function deriveConfig(o: Parsed): TesseraConfig {
  const region = o.mosaicRegion === undefined ? undefined : mosaicRegions[o.mosaicRegion];
  const issuer = (o.issuer ?? region?.issuer)!;
  const discoveryUrl = o.discoveryUrl
    ?? (region ? region.api + mosaicDiscoveryPath : `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  const publicUrl = new URL(o.publicUrl ?? `http://localhost:${o.port}`).origin;
  const { idleTimeout, absoluteTimeout, sessionCacheTtl, sendTimeout, idpTimeout, shutdownTimeout, metricsAddress, logoutApiUrl, ...rest } = o;
  const config: TesseraConfig = {
    ...rest,
    publicUrl,
    issuer,
    discoveryUrl,
    mosaicRegion: o.mosaicRegion,
    logoutApiUrl: logoutApiUrl === '' ? undefined : (logoutApiUrl ?? mosaicLogoutUrlFor(discoveryUrl)),
    idleTimeoutMs: idleTimeout,
    absoluteTimeoutMs: absoluteTimeout,
    sessionCacheTtlMs: sessionCacheTtl,
    sendTimeoutMs: sendTimeout,
    idpTimeoutMs: idpTimeout,
    shutdownTimeoutMs: shutdownTimeout,
    metricsAddress: metricsAddress === undefined ? undefined : parseListenAddress(metricsAddress),
    secureCookies: publicUrl.startsWith('https:'),
  };
  // Not enumerable: printing or spreading the configuration does not carry the mark along.
  Object.defineProperty(config, resolved, { value: true });
  return config;
}
