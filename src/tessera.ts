import { isResolvedConfig, resolveConfig, type TesseraConfig, type TesseraOptionsInput } from './config/index.js';
import { developmentKeys, parseKeyRing } from './keys/index.js';
import { createLogger, type Logger } from './observability/log.js';
import { TesseraMetrics, type Metrics } from './observability/metrics.js';
import { IdentityProvider } from './oidc/provider.js';
import { TransactionCookies } from './oidc/transaction.js';
import { Verifiers } from './oidc/verifiers.js';
import type { RouteContext } from './app/context.js';
import { createDecide, loginUrlFor, type Decision, type DecideOptions, type RequestFacts } from './app/decision.js';
import { createAuthRouter } from './app/router.js';
import { SessionManager, type AuthResult, type Session, type SessionTokens } from './session/manager.js';
import { timeStore } from './session/timed-store.js';
import { openStore } from './stores/index.js';
import type { SessionStore } from './stores/types.js';

export interface Tessera {
  /** Serves `/auth/*`; resolves to null for any other path. */
  handle(request: Request): Promise<Response | null>;
  /** The one decision for a request: answer `/auth/*`, pass with the session, or deny (as data). */
  decide(facts: RequestFacts, options?: DecideOptions): Promise<Decision>;
  /** The per-request check: no `Request` object, one hash, usually no store round trip. */
  authenticate(cookieHeader: string | undefined): Promise<AuthResult>;
  /** The tokens of a session `authenticate`/`decide` returned (token relay, offline use); undefined once it has ended. */
  tokens(session: Session): Promise<SessionTokens | undefined>;
  /** Where to send a browser that has no valid session. */
  loginUrl(returnTo: string, renew?: boolean): string;
  /** The origin users reach (`TESSERA_PUBLIC_URL`). */
  readonly publicUrl: string;
  /** The session cookie's name (`__Host-tessera` on https, `tessera` on plain-http development URLs). */
  readonly cookieName: string;
  /** A user's sessions, by their opaque `ref`. */
  readonly sessions: {
    list(sub: string): Promise<Session[]>;
    revoke(sub: string, ref: string): Promise<boolean>;
    revokeAll(sub: string): Promise<number>;
  };
  /** Whether the store and the IdP's metadata are reachable (for `/readyz`). */
  ready(): Promise<{ ready: boolean; store: boolean; idp: boolean }>;
  /** This instance's metrics: a prom-client `Registry` of its own, to scrape (`render()`) or merge into the host's. */
  readonly metrics: Metrics;
  close(): Promise<void>;
}

export interface TesseraDependencies {
  /** A store instance instead of the one `store` (TESSERA_STORE) names. */
  store?: SessionStore;
  /**
   * Where Tessera logs: any pino-compatible logger (pino, Fastify's `app.log`), which keeps its
   * own level. Without one, Tessera logs JSON lines to stderr at `logLevel`.
   */
  logger?: Logger;
}

/** What the gateway, the CLI and tests reach inside an instance; not part of the public API. */
export interface TesseraInternals {
  config: TesseraConfig;
  sessions: SessionManager;
  store: SessionStore;
  logger: Logger;
  metrics: TesseraMetrics;
}

const internals = new WeakMap<Tessera, TesseraInternals>();

/** The internals of an instance made by `createTessera` (for Tessera's own gateway, CLI and tests). */
export function internalsOf(tessera: Tessera): TesseraInternals {
  const found = internals.get(tessera);
  if (found === undefined) throw new TypeError('"tessera" must be an instance made by createTessera');
  return found;
}

/** Builds Tessera from options (or a configuration already resolved by `loadConfig`). */
export function createTessera(options: TesseraOptionsInput | TesseraConfig, dependencies: TesseraDependencies = {}): Tessera {
  const config = isResolvedConfig(options) ? options : resolveConfig(options);
  const keys = parseKeyRing(config.keys ?? developmentKeys(config.dataDir));
  const logger = dependencies.logger ?? createLogger({ level: config.logLevel });
  const metrics = new TesseraMetrics();
  const observability = { logger, metrics };
  const store = timeStore(dependencies.store ?? openStore(config.store, { logger }), metrics);
  const provider = new IdentityProvider(config, observability);
  const sessions = new SessionManager(store, keys, config, observability);
  const ctx: RouteContext = {
    config,
    keys,
    provider,
    sessions,
    store,
    transactions: new TransactionCookies(keys, config.secureCookies),
    verifiers: new Verifiers(config, provider, store, observability),
    metrics,
    logger,
  };
  const handle = createAuthRouter(ctx);

  const tessera: Tessera = {
    handle,
    decide: createDecide(sessions, handle, config.routes, logger),
    authenticate: (cookieHeader) => sessions.authenticate(cookieHeader),
    tokens: (session) => sessions.tokensOf(session),
    loginUrl: loginUrlFor,
    publicUrl: config.publicUrl,
    cookieName: sessions.cookieName,
    sessions: {
      list: (sub) => sessions.listByUser(sub),
      revoke: (sub, ref) => sessions.revokeByRef(sub, ref),
      revokeAll: (sub) => sessions.revokeByUser(sub),
    },
    async ready() {
      const [storeOk, idpOk] = await Promise.all([
        store.ping().then(() => true, () => false),
        provider.configuration().then(() => true, () => false),
      ]);
      return { ready: storeOk && idpOk, store: storeOk, idp: idpOk };
    },
    metrics,
    close: () => store.close(),
  };
  internals.set(tessera, { config, sessions, store, logger, metrics });
  return tessera;
}
