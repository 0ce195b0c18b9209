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
  TESSERA_TOKEN_RELAY: 'tokenRelay',
  TESSERA_ADMIN_TOKEN: 'adminToken',
  TESSERA_LOG_LEVEL: 'logLevel',
  TESSERA_COOKIE_SAMESITE: 'cookieSameSite',
  TESSERA_LOGOUT_API_URL: 'logoutApiUrl',
  TESSERA_END_SESSION: 'endSession',
  TESSERA_POST_LOGOUT_PATH: 'postLogoutPath',
  TESSERA_BACKCHANNEL_LOGOUT: 'backchannelLogout',
  TESSERA_SESSION_CACHE_TTL: 'sessionCacheTtl',
  TESSERA_TRUSTED_PROXIES: 'trustedProxies',
  TESSERA_ALLOW_UNDERSCORE_HEADERS: 'allowUnderscoreHeaders',
  TESSERA_MAX_REQUESTS_PER_CLIENT: 'maxRequestsPerClient',
  TESSERA_SEND_TIMEOUT: 'sendTimeout',
  TESSERA_METRICS_ADDRESS: 'metricsAddress',
  TESSERA_DATA_DIR: 'dataDir',
  TESSERA_DEVELOPMENT: 'development',
} as const;

export type SettingName = keyof typeof settingNames;

/**
 * What each setting means, by key: the one source of `docs/configuration.md` (`npm run docs`).
 * `shown` replaces the default taken from the schema where that needs words (a derived value).
 */
export const settingDocs: Partial<Record<SettingName, { description: string; shown?: string }>> = {
  TESSERA_PUBLIC_URL: { description: "the origin users reach; the redirect URI is `<public URL>/auth/callback`. https, or plain http on loopback for development. Decides the cookie: `__Host-tessera` (https) or `tessera`", shown: "`http://localhost:<port>`" },
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
  TESSERA_SILENT_AUTH: { description: "renew an expired access token with `prompt=none`" },
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
  TESSERA_METRICS_ADDRESS: { description: "`host:port` (`127.0.0.1:9464`, `[::1]:9464`) of a second listener serving `/metrics` (Prometheus), `/healthz` and `/readyz`. The public port answers `/metrics` with 404", shown: "— (no metrics listener)" },
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
  tokenRelay: bool.default(false),
  adminToken: z.string().min(32, 'expected at least 32 characters').optional(),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  cookieSameSite: z.enum(['lax', 'strict', 'Lax', 'Strict']).transform((v) => (v.toLowerCase() === 'strict' ? 'Strict' : 'Lax') as 'Lax' | 'Strict').default('Lax'),
  logoutApiUrl: z.union([httpUrl, z.literal('')]).optional(),
  endSession: bool.default(false),
  postLogoutPath: relativePath.optional(),
  backchannelLogout: bool.default(false),
  sessionCacheTtl: duration.default(5000),
  trustedProxies: cidrList.default([]),
  allowUnderscoreHeaders: bool.default(false),
  maxRequestsPerClient: positiveInt.default(64),
  sendTimeout: duration.default(30_000),
  metricsAddress: listenAddress.optional(),
  dataDir: text.default('.tessera'),
  development: bool.default(false),
}).strict().superRefine((o, ctx) => {
  const at = (option: OptionName, message: string) => ctx.addIssue({ code: 'custom', path: [option], message });
  if (o.mosaicRegion === undefined && o.issuer === undefined) at('issuer', 'required (or set TESSERA_MOSAIC_REGION)');
  if (o.mosaicRegion === 'sandbox' && o.issuer === undefined) at('issuer', 'required with TESSERA_MOSAIC_REGION=sandbox (its issuer is not documented)');
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
export interface TesseraConfig extends Omit<Parsed, 'publicUrl' | 'issuer' | 'discoveryUrl' | 'logoutApiUrl' | 'mosaicRegion' | 'idleTimeout' | 'absoluteTimeout' | 'sessionCacheTtl' | 'sendTimeout' | 'metricsAddress'> {
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
  /** Where `/metrics`, `/healthz` and `/readyz` are served; undefined = no metrics listener. */
  metricsAddress: { host: string; port: number } | undefined;
  /** Whether the session cookie is `__Host-tessera` (https) or `tessera` (plain-http development). */
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
  const { idleTimeout, absoluteTimeout, sessionCacheTtl, sendTimeout, metricsAddress, logoutApiUrl, ...rest } = o;
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
    metricsAddress: metricsAddress === undefined ? undefined : parseListenAddress(metricsAddress),
    secureCookies: publicUrl.startsWith('https:'),
  };
  // Not enumerable: printing or spreading the configuration does not carry the mark along.
  Object.defineProperty(config, resolved, { value: true });
  return config;
}
