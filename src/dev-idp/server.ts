/**
 * The dev IdP's HTTP server (plain node:http on loopback): routes Mosaic's paths to
 * oidc-provider mounted under `/cis/oidc`, and serves the logout API, userinfo and the login
 * pages itself.
 *
 * Mounting: the `/cis/oidc` prefix is stripped from `req.url` and the full path kept in
 * `req.originalUrl`, from which oidc-provider derives its mount path when it builds URLs
 * (discovery, redirects, form actions). Mosaic's token routes `/oidc/token` and
 * `/oidc/token/revocation` are the provider's `/token` and `/token/revocation`, and discovery is
 * rewritten to advertise them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { JWK } from 'jose';
import { isTesseraError, TesseraError } from '../errors.js';
import { createLogger, type Logger } from '../observability/log.js';
import { createAccessTokenVerifier } from './access-tokens.js';
import { openProviderStore, type ProviderStore } from './adapter.js';
import { formatBanner } from './banner.js';
import { defaultClient, loadClientsFile, mergeClients } from './clients.js';
import {
  MOSAIC_LOGOUT_PATH,
  MOSAIC_REVOCATION_PATH,
  MOSAIC_TOKEN_PATH,
  OIDC_MOUNT,
} from './constants.js';
import { escapeHtml } from '../lib/html.js';
import { page } from './html.js';
import { createInteractionRoutes } from './interactions.js';
import { generateSigningKey, loadOrCreateKeys, saveKeys } from './keys.js';
import { createMosaicLogout } from './mosaic-logout.js';
import { resolveOptions, type DevIdpOptions } from './options.js';
import { sendHtml, sendJson } from './respond.js';
import { createUserinfo } from './userinfo.js';
import { createUserDirectory, loadUsers } from './users.js';

export interface DevIdp {
  /** The server origin, e.g. `http://localhost:4000` (also the issuer). */
  url: string;
  /** `iss` of every token: the origin without a path — not where discovery lives (as in Mosaic). */
  issuer: string;
  /** `<url>/cis/oidc/.well-known/openid-configuration`. */
  discoveryUrl: string;
  port: number;
  /** The `kid`s published in the JWKS, the signing one first. */
  signingKids(): string[];
  /**
   * Key rotation, step 1: a new signing key, first in `keys.json` and in the JWKS; tokens are
   * signed with it from now on, and the old keys stay published so tokens they signed still verify.
   */
  rotateSigningKey(): Promise<{ kid: string }>;
  /** Key rotation, step 2: drops every key but the signing one from the JWKS; answers the dropped `kid`s. */
  retireSigningKeys(): Promise<string[]>;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage & { originalUrl?: string }, res: ServerResponse) => Promise<void>;

export async function startDevIdp(options: DevIdpOptions = {}): Promise<DevIdp> {
  const settings = resolveOptions(options);
  const logger = options.logger ?? createLogger({ level: settings.logLevel });
  const stateDir = resolve(settings.dataDir, 'dev-idp');
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const [keys, userList, fileClients] = await Promise.all([
    loadOrCreateKeys(stateDir),
    loadUsers(settings.usersFile),
    loadClientsFile(settings.clientsFile),
  ]);
  const users = createUserDirectory(userList);
  const clients = mergeClients([defaultClient], fileClients, settings.clients);

  let handler: Handler | undefined;
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (handler === undefined) {
      sendJson(res, 503, { error: 'temporarily_unavailable', error_description: 'starting' });
      return;
    }
    handler(req, res).catch((err: unknown) => answerError(res, err, logger));
  };
  const servers = await listenOnLoopback(settings.port, onRequest, logger);
  const port = (servers[0]?.address() as { port: number }).port;
  const origin = `http://${settings.host}:${port}`;
  const discoveryUrl = `${origin}${OIDC_MOUNT}/.well-known/openid-configuration`;

  let store: ProviderStore | undefined;
  // The signing keys in use (the first one signs); a rotation builds a new provider around them.
  let signing = keys.signing;
  let build: ((signingKeys: JWK[]) => Promise<Handler>) | undefined;
  try {
    const providerStore = openProviderStore(join(stateDir, 'state.sqlite'));
    store = providerStore;
    // Loaded here, not at import: oidc-provider prints a runtime notice when it is imported.
    const { createProvider } = await import('./provider.js');
    // One provider per key set. Every piece of state (sessions, interactions, codes, grants) is
    // in the shared store and the cookie keys stay the same, so a login begun on one provider is
    // finished by the next; requests already running finish on the one they started on.
    build = async (signingKeys) => {
      const provider = createProvider({
        issuer: origin,
        accessTokenTtl: settings.accessTokenTtl,
        signingKeys,
        cookieKeys: keys.cookies,
        clients,
        users,
        store: providerStore,
        logger,
      });
      // Fail at start, not at first use, when a client's metadata is invalid.
      for (const client of clients) {
        await provider.Client.find(client.client_id).catch((cause: unknown) => {
          throw new TypeError(`dev IdP client ${client.client_id}: ${(cause as { error_description?: string }).error_description ?? String(cause)}`, { cause });
        });
      }
      provider.use(async (ctx, next) => {
        await next();
        if (ctx.path === '/.well-known/openid-configuration' && ctx.status === 200 && typeof ctx.body === 'object' && ctx.body !== null) {
          const metadata = ctx.body as Record<string, unknown>;
          // The origin the client used, as in every other endpoint of this document.
          const base = new URL(String(metadata.authorization_endpoint)).origin;
          ctx.body = {
            ...metadata,
            token_endpoint: `${base}${MOSAIC_TOKEN_PATH}`,
            revocation_endpoint: `${base}${MOSAIC_REVOCATION_PATH}`,
          };
        }
      });
      const callProvider = provider.callback();
      const verify = createAccessTokenVerifier(provider.issuer, signingKeys);
      const logoutApi = createMosaicLogout(provider, providerStore, verify, logger);
      const userinfo = createUserinfo(users, verify);
      const interactions = createInteractionRoutes(provider, users);

      const mount = async (req: IncomingMessage & { originalUrl?: string }, res: ServerResponse, prefix: string) => {
        const rawUrl = req.url ?? '/';
        req.originalUrl = rawUrl;
        req.url = rawUrl.slice(prefix.length) || '/';
        if (req.url.startsWith('?')) req.url = `/${req.url}`;
        await callProvider(req, res);
      };
      return async (req, res) => {
        const rawUrl = req.url ?? '/';
        const queryAt = rawUrl.indexOf('?');
        const pathname = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
        if (pathname === MOSAIC_LOGOUT_PATH) return logoutApi(req, res);
        if (pathname === `${OIDC_MOUNT}/me`) return userinfo(req, res);
        if (await interactions(req, res, pathname)) return;
        if (pathname === MOSAIC_TOKEN_PATH || pathname === MOSAIC_REVOCATION_PATH) {
          return mount(req, res, '/oidc');
        }
        if (pathname === OIDC_MOUNT || pathname.startsWith(`${OIDC_MOUNT}/`)) return mount(req, res, OIDC_MOUNT);
        if (pathname === '/' && (req.method === 'GET' || req.method === 'HEAD')) return indexPage(res, discoveryUrl);
        notFound(req, res);
      };
    };
    handler = await build(signing);
  } catch (err) {
    await Promise.all(servers.map(closeServer));
    store?.close();
    throw err;
  }

  if (!settings.quiet) {
    process.stdout.write(formatBanner({ issuer: origin, discoveryUrl, dataDir: stateDir, clients, users: userList }) + '\n');
  }
  logger.debug({ issuer: origin, port }, 'dev IdP started');

  const rebuild = build;
  // Key changes one at a time: each builds the new provider, saves the keys file, then swaps.
  let keyChange: Promise<unknown> = Promise.resolve();
  const changeKeys = <T>(change: () => Promise<{ next: JWK[]; result: T }>): Promise<T> => {
    const run = keyChange.then(async () => {
      const { next, result } = await change();
      // Built before anything changes, so a failure leaves the running provider and the file as they were.
      const nextHandler = await rebuild(next);
      await saveKeys(stateDir, { signing: next, cookies: keys.cookies });
      handler = nextHandler;
      signing = next;
      logger.info({ kids: next.map((k) => k.kid) }, 'dev IdP signing keys changed');
      return result;
    });
    keyChange = run.catch(() => undefined);
    return run;
  };

  let closing: Promise<void> | undefined;
  return {
    url: origin,
    issuer: origin,
    discoveryUrl,
    port,
    signingKids: () => signing.map((k) => String(k.kid)),
    rotateSigningKey: () => changeKeys(async () => {
      const fresh = await generateSigningKey();
      return { next: [fresh, ...signing], result: { kid: String(fresh.kid) } };
    }),
    retireSigningKeys: () => changeKeys(async () => {
      const [current] = signing;
      if (current === undefined) throw new TesseraError('ERR_DEV_IDP_KEYS', 'no signing key');
      return { next: [current], result: signing.slice(1).map((k) => String(k.kid)) };
    }),
    close() {
      closing ??= (async () => {
        await Promise.all(servers.map(closeServer));
        store?.close();
      })();
      return closing;
    },
  };
}

function notFound(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  if ((req.headers.accept ?? '').includes('text/html')) {
    sendHtml(res, 404, page('Not found', '<h1>Not found</h1>'));
  } else {
    sendJson(res, 404, { error: 'not_found', error_description: 'no such route' });
  }
}

function indexPage(res: ServerResponse, discoveryUrl: string): void {
  sendHtml(res, 200, page('Tessera dev IdP', `<h1>Tessera dev IdP</h1>
<p>OpenID Provider configuration: <a href="${escapeHtml(discoveryUrl)}">${escapeHtml(discoveryUrl)}</a></p>`));
}

function answerError(res: ServerResponse, err: unknown, logger: Logger): void {
  const status = isTesseraError(err) && err.status !== undefined ? err.status : 500;
  if (status >= 500) logger.error({ error: err instanceof Error ? err.stack ?? err.message : String(err) }, 'dev IdP request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const message = status >= 500 ? 'internal error' : (err as Error).message;
  sendHtml(res, status, page('Error', `<h1>Error</h1><p>${escapeHtml(message)}</p>`));
}

/** Listens on 127.0.0.1 and, where the machine has IPv6, on ::1 with the same port. */
async function listenOnLoopback(port: number, onRequest: (req: IncomingMessage, res: ServerResponse) => void, logger: Logger): Promise<Server[]> {
  const v4 = await listen(createServer(onRequest), port, '127.0.0.1').catch((cause: NodeJS.ErrnoException) => {
    throw cause.code === 'EADDRINUSE'
      ? new TesseraError('ERR_DEV_IDP_PORT_IN_USE', `port ${port} is already in use; choose another with TESSERA_DEV_IDP_PORT`, { cause })
      : cause;
  });
  const actualPort = (v4.address() as { port: number }).port;
  try {
    const v6 = await listen(createServer(onRequest), actualPort, '::1');
    return [v4, v6];
  } catch (err) {
    logger.debug({ error: (err as Error).message }, 'dev IdP not listening on ::1');
    return [v4];
  }
}

function listen(server: Server, port: number, host: string): Promise<Server> {
  return new Promise((resolveListen, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolveListen(server);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolveClose) => {
    server.close(() => resolveClose());
    server.closeAllConnections();
  });
}
