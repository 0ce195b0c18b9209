import * as client from 'openid-client';
import { isLoopbackUrl, type TesseraConfig } from '../config/index.js';
import { TesseraError } from '../errors.js';
import { logger } from '../observability/log.js';

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

  constructor(config: TesseraConfig) {
    this.#config = config;
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
      response = await fetch(discoveryUrl, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(5000) });
    } catch (cause) {
      throw new TesseraError('ERR_IDP_UNAVAILABLE', `The identity provider did not answer at ${discoveryUrl}`, { status: 503, cause });
    }
    if (!response.ok) {
      throw new TesseraError('ERR_IDP_UNAVAILABLE', `The identity provider answered ${response.status} for its discovery document at ${discoveryUrl}`, { status: 503 });
    }
    const metadata = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    for (const field of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const) {
      if (typeof metadata?.[field] !== 'string') {
        throw new TesseraError('ERR_IDP_METADATA', `The discovery document at ${discoveryUrl} has no "${field}" string`, { status: 503 });
      }
    }
    if (metadata!.issuer !== issuer) {
      throw new TesseraError('ERR_IDP_METADATA', `The discovery document at ${discoveryUrl} names issuer "${String(metadata!.issuer)}", expected TESSERA_ISSUER "${issuer}"`, { status: 503 });
    }
    const configuration = new client.Configuration(
      metadata as unknown as client.ServerMetadata,
      clientId,
      { client_secret: clientSecret, id_token_signed_response_alg: this.#config.algorithms[0] },
      client.ClientSecretPost(clientSecret),
    );
    configuration.timeout = 5;
    // Plain http is only ever allowed for loopback development identity providers.
    if ([discoveryUrl, issuer].every((u) => isLoopbackUrl(new URL(u))) && new URL(discoveryUrl).protocol === 'http:') {
      client.allowInsecureRequests(configuration);
    }
    logger.info('identity provider metadata loaded', { issuer, discoveryUrl });
    return configuration;
  }
}
