import * as client from 'openid-client';
import { isLoopbackUrl, type TesseraConfig } from '../config/index.js';
import { TesseraError } from '../errors.js';
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

/**
 * The connection to the identity provider: discovery fetched lazily and cached, retried on the
 * next use after a failure (an IdP that is down at start does not stop the gateway).
 *
 * Discovery is fetched from `discoveryUrl` and its `issuer` must equal the configured issuer,
 * which may live on another host (Mosaic: issuer `https://userid.security`, discovery on the
 * API host) — so openid-client's own discovery, which ties the two together, is not used.
 */
export class IdentityProvider {
  #config: TesseraConfig;
  #pending: Promise<client.Configuration> | undefined;
  #ready: client.Configuration | undefined;
  #logger: Logger;
  #metrics: TesseraMetrics | undefined;

  constructor(config: TesseraConfig, observability: { logger?: Logger; metrics?: TesseraMetrics } = {}) {
    this.#config = config;
    this.#logger = observability.logger ?? silentLogger;
    this.#metrics = observability.metrics;
  }

  get ready(): boolean {
    return this.#ready !== undefined;
  }

  async configuration(): Promise<client.Configuration> {
    if (this.#ready) return this.#ready;
    this.#pending ??= this.#discover().then(
      (configuration) => (this.#ready = configuration),
      (err) => {
        this.#pending = undefined;
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
      response = await timedFetch(discoveryUrl, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(5000) });
    } catch (cause) {
      throw new TesseraError('ERR_IDP_UNAVAILABLE', `The identity provider did not answer at ${discoveryUrl}`, { cause });
    }
    if (!response.ok) {
      throw new TesseraError('ERR_IDP_UNAVAILABLE', `The identity provider answered ${response.status} for its discovery document at ${discoveryUrl}`);
    }
    const metadata = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
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
    configuration.timeout = 5;
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
    this.#logger.info({ issuer, discoveryUrl }, 'identity provider metadata loaded');
    return configuration;
  }
}
