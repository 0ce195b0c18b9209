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
import type { ClientFacts } from './session/binding.js';
import { SessionManager, type AuthResult, type Session, type SessionTokens } from './session/manager.js';
import { announceEnds, SessionEnds, type SessionEndListener } from './session/ends.js';
import { dbSystemOf, timeStore } from './session/timed-store.js';
import { openStore } from './stores/index.js';
import type { SessionStore } from './stores/types.js';

export interface Tessera {
  /**
   * Serves `/auth/*`; resolves to null for any other path. `client.address` (the client's IP) is
   * what session binding's `ip-prefix` signal reads at sign-in and on the sessions routes.
   */
  handle(request: Request, client?: { address?: string | undefined }): Promise<Response | null>;
  /** The one decision for a request: answer `/auth/*`, pass with the session, or deny (as data). */
  decide(facts: RequestFacts, options?: DecideOptions): Promise<Decision>;
  /**
   * The per-request check: no `Request` object, one hash, usually no store round trip. With session
   * binding on, pass the request's `client` (its headers, and its address) to have it compared.
   */
  authenticate(cookieHeader: string | undefined, client?: ClientFacts): Promise<AuthResult>;
  /** The tokens of a session `authenticate`/`decide` returned (token relay, offline use); undefined once it has ended. */
  tokens(session: Session): Promise<SessionTokens | undefined>;
  /**
   * Calls `listener` once when `session` (from `authenticate`/`decide`) ends — logout, revocation
   * by the user or an admin, back-channel logout, idle or absolute timeout, access-token expiry —
   * here or on any instance sharing the store. Returns the function that stops listening: call it
   * when the connection closes on its own. For closing WebSockets and streams with the session.
   */
  onSessionEnd(session: Session, listener: SessionEndListener): () => void;
  /** Where to send a browser that has no valid session. */
  loginUrl(returnTo: string, renew?: boolean): string;
  /** The origin users reach (`TESSERA_PUBLIC_URL`). */
  readonly publicUrl: string;
  /** The session cookie's name (`__Host-<TESSERA_COOKIE_NAME>` on https, `<TESSERA_COOKIE_NAME>` on plain-http development URLs; `tessera` by default). */
  readonly cookieName: string;
  /**
   * A user's sessions, by their opaque `ref`. `list`/`revoke`/`revokeAll` take a user id (for
   * admin use); `listFor`/`revokeFor`/`revokeAllFor` take the signed-in `Session` a request got, and
   * reach only that user's own sessions (self-service: a ref of another user's session is not found).
   */
  readonly sessions: {
    list(sub: string): Promise<Session[]>;
    revoke(sub: string, ref: string): Promise<boolean>;
    revokeAll(sub: string): Promise<number>;
    /** The signed-in user's sessions, oldest first, each with `current` (the one `session` is). */
    listFor(session: Session): Promise<Array<Session & { current: boolean }>>;
    /** Ends one of the signed-in user's own sessions; false when `ref` is not one of them. */
    revokeFor(session: Session, ref: string): Promise<boolean>;
    /** Ends every session of the signed-in user, `session` included; returns how many. */
    revokeAllFor(session: Session): Promise<number>;
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
  ends: SessionEnds;
  /** Whether a page without a session goes to the login with `prompt=none` first (TESSERA_SILENT_SSO and TESSERA_SILENT_AUTH). */
  silentSso: boolean;
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
  const timed = timeStore(dependencies.store ?? openStore(config.store, { logger }), metrics, dependencies.store ? undefined : dbSystemOf(config.store));
  // Without an invalidation channel (SQLite, memory), an end in another process is found within a cache lifetime.
  const ends = new SessionEnds(timed, { logger, recheckEveryMs: config.sessionCacheTtlMs });
  const store = announceEnds(timed, ends);
  const provider = new IdentityProvider(config, observability);
  const sessions = new SessionManager(store, keys, config, observability);
  const ctx: RouteContext = {
    config,
    keys,
    provider,
    sessions,
    store,
    transactions: new TransactionCookies(keys, config.secureCookies, config.cookieName),
    verifiers: new Verifiers(config, provider, store, observability),
    metrics,
    logger,
  };
  const handle = createAuthRouter(ctx);
  const silentSso = config.silentSso && config.silentAuth;

  const tessera: Tessera = {
    handle,
    decide: createDecide(sessions, handle, config.routes, { silentSso, logger }),
    authenticate: (cookieHeader, client) => sessions.authenticate(cookieHeader, Date.now(), client),
    tokens: (session) => sessions.tokensOf(session),
    onSessionEnd(session, listener) {
      const key = sessions.storeKeyOf(session);
      if (key === undefined) throw new TypeError('"session" must be a session that authenticate() or decide() returned');
      if (typeof listener !== 'function') throw new TypeError('"listener" must be a function');
      return ends.watch(key, session, listener);
    },
    loginUrl: loginUrlFor,
    publicUrl: config.publicUrl,
    cookieName: sessions.cookieName,
    sessions: {
      list: (sub) => sessions.listByUser(sub),
      revoke: (sub, ref) => sessions.revokeByRef(sub, ref),
      revokeAll: (sub) => sessions.revokeByUser(sub),
      listFor: async (session) => (await sessions.listByUser(session.sub)).map((s) => ({ ...s, current: s.ref === session.ref })),
      revokeFor: (session, ref) => sessions.revokeByRef(session.sub, ref),
      revokeAllFor: (session) => sessions.revokeByUser(session.sub),
    },
    async ready() {
      const [storeOk, idpOk] = await Promise.all([
        store.ping().then(() => true, () => false),
        provider.configuration().then(() => true, () => false),
      ]);
      return { ready: storeOk && idpOk, store: storeOk, idp: idpOk };
    },
    metrics,
    close: () => {
      ends.close();
      return store.close();
    },
  };
  internals.set(tessera, { config, sessions, store, logger, metrics, ends, silentSso });
  return tessera;
}
