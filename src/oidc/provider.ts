import * as client from 'openid-client';
import { isLoopbackUrl, type TesseraConfig } from '../config/index.js';
import { isTesseraError, TesseraError } from '../errors.js';
import { silentLogger, type Logger } from '../observability/log.js';
import type { TesseraMetrics } from '../observability/metrics.js';

export interface ProviderMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  end_session_endpoint?: string;
  [key: string]: unknown;
}

/** A discovery result is used this long without asking the IdP again (a login or `/readyz` after it re-fetches). */
export const discoveryTtlMs = 5_000;
/** After a failed discovery, callers are answered with that failure for this long before the IdP is asked again. */
const failureHoldMs = 1_000;

/**
 * The connection to the identity provider: discovery fetched lazily, kept for `discoveryTtlMs`,
 * then re-fetched on the next use (a login, the callback, `/readyz`). While the IdP does not
 * answer (within `TESSERA_IDP_TIMEOUT`), `configuration()` throws `ERR_IDP_UNAVAILABLE` — new
 * logins get a 503 and `/readyz` says `idp: false` — and the first success after it recovers
 * everything, without a restart. Requests with a session never wait for the IdP.
 *
 * Discovery is fetched from `discoveryUrl` and its `issuer` must equal the configured issuer,
 * which may live on another host (Mosaic: issuer `https://userid.security`, discovery on the
 * API host) — so openid-client's own discovery, which ties the two together, is not used.
 */
export class IdentityProvider {
  #config: TesseraConfig;
  #pending: Promise<client.Configuration> | undefined;
  #ready: client.Configuration | undefined;
  /** When `#ready` was last confirmed by the IdP. */
  #fetchedAt = 0;
  /** The last discovery failure and when it happened, answered for `failureHoldMs`. */
  #failure: { error: unknown; at: number } | undefined;
  #logger: Logger;
  #metrics: TesseraMetrics | undefined;

  constructor(config: TesseraConfig, observability: { logger?: Logger; metrics?: TesseraMetrics } = {}) {
    this.#config = config;
    this.#logger = observability.logger ?? silentLogger;
    this.#metrics = observability.metrics;
  }

  /** Whether the last discovery succeeded. */
  get ready(): boolean {
    return this.#ready !== undefined && this.#failure === undefined;
  }

  async configuration(): Promise<client.Configuration> {
    const now = Date.now();
    if (this.#ready !== undefined && this.#failure === undefined && now - this.#fetchedAt < discoveryTtlMs) return this.#ready;
    if (this.#failure !== undefined && now - this.#failure.at < failureHoldMs) throw this.#failure.error;
    this.#pending ??= this.#discover().then(
      (configuration) => {
        this.#pending = undefined;
        if (this.#failure !== undefined) this.#logger.info({ issuer: this.#config.issuer }, 'identity provider reachable again');
        this.#failure = undefined;
        this.#fetchedAt = Date.now();
        // The same metadata keeps the same object, so verifiers built on it stay valid.
        if (this.#ready === undefined || !sameMetadata(this.#ready.serverMetadata(), configuration.serverMetadata())) this.#ready = configuration;
        return this.#ready;
      },
      (err: unknown) => {
        this.#pending = undefined;
        if (this.#failure === undefined) {
          // Unusable metadata is a configuration to fix, not an outage to wait out: said louder.
          if (isTesseraError(err, 'ERR_IDP_METADATA')) this.#logger.error({ issuer: this.#config.issuer, error: err.message }, 'identity provider metadata unusable');
          else this.#logger.warn({ issuer: this.#config.issuer, error: (err as Error).message }, 'identity provider unreachable');
        }
        this.#failure = { error: err, at: Date.now() };
        throw err;
      },
    );
    return this.#pending;
  }

  async metadata(): Promise<ProviderMetadata> {
    return (await this.configuration()).serverMetadata() as unknown as ProviderMetadata;
  }

  async #discover(): Promise<client.Configuration> {
    const { discoveryUrl, issuer, clientId, clientSecret } = this.#config;
    let response: Response;
    try {
      const timedFetch = this.#metrics?.idpFetch('discovery') ?? fetch;
      response = await timedFetch(discoveryUrl, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(this.#config.idpTimeoutMs) });
    } catch (cause) {
      throw new TesseraError('ERR_IDP_UNAVAILABLE', `The identity provider did not answer at ${discoveryUrl}`, { cause });
    }
    if (!response.ok) {
      throw new TesseraError('ERR_IDP_UNAVAILABLE', `The identity provider answered ${response.status} for its discovery document at ${discoveryUrl}`);
    }
    const metadata = (await withTimeout(response.json(), this.#config.idpTimeoutMs).catch(() => undefined)) as Record<string, unknown> | undefined;
    for (const field of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const) {
      if (typeof metadata?.[field] !== 'string') {
        throw new TesseraError('ERR_IDP_METADATA', `The discovery document at ${discoveryUrl} has no "${field}" string`);
      }
    }
    if (metadata!.issuer !== issuer) {
      throw new TesseraError('ERR_IDP_METADATA', `The discovery document at ${discoveryUrl} names issuer "${String(metadata!.issuer)}", expected TESSERA_ISSUER "${issuer}"`);
    }
    const configuration = new client.Configuration(
      metadata as unknown as client.ServerMetadata,
      clientId,
      { client_secret: clientSecret, id_token_signed_response_alg: this.#config.algorithms[0] },
      client.ClientSecretPost(clientSecret),
    );
    configuration.timeout = Math.max(1, Math.ceil(this.#config.idpTimeoutMs / 1000));
    // openid-client's own requests (the token exchange) are timed as IdP requests too.
    const tokenEndpoint = metadata!.token_endpoint;
    const metrics = this.#metrics;
    if (metrics !== undefined) {
      // openid-client's options are fetch's; its types say so only loosely (see client.customFetch).
      configuration[client.customFetch] = (url, init) => metrics.timeIdpRequest(url === tokenEndpoint ? 'token' : 'other', () => fetch(url, init as RequestInit));
    }
    // Plain http is only ever allowed for loopback development identity providers.
    if ([discoveryUrl, issuer].every((u) => isLoopbackUrl(new URL(u))) && new URL(discoveryUrl).protocol === 'http:') {
      client.allowInsecureRequests(configuration);
    }
    if (this.#ready === undefined) this.#logger.info({ issuer, discoveryUrl }, 'identity provider metadata loaded');
    return configuration;
  }
}

function sameMetadata(a: object, b: object): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
