import type { TesseraConfig } from '../config/index.js';
import { mosaicLogoutUrlFor } from '../config/mosaic.js';
import { silentLogger, type Logger } from '../observability/log.js';
import type { TesseraMetrics } from '../observability/metrics.js';
import type { SessionStore } from '../stores/types.js';
import {
  createAccessTokenVerifier, createIdTokenVerifier, createKeySource, createLogoutTokenVerifier,
  type KeySource,
} from '../tokens/index.js';
import type { IdentityProvider } from './provider.js';

export { isStaleAuthentication } from '../tokens/id-token.js';

type AccessVerifier = ReturnType<typeof createAccessTokenVerifier>;
type IdVerifier = ReturnType<typeof createIdTokenVerifier>;
type LogoutVerifier = ReturnType<typeof createLogoutTokenVerifier>;

/**
 * The three token verifiers, sharing one JWKS key source. Built once the provider's metadata
 * (and so its `jwks_uri`) is known.
 */
export class Verifiers {
  #config: TesseraConfig;
  #provider: IdentityProvider;
  #store: SessionStore;
  #built: { access: AccessVerifier; id: IdVerifier; logout: LogoutVerifier } | undefined;
  #logger: Logger;
  #metrics: TesseraMetrics | undefined;

  constructor(config: TesseraConfig, provider: IdentityProvider, store: SessionStore, observability: { logger?: Logger; metrics?: TesseraMetrics } = {}) {
    this.#config = config;
    this.#provider = provider;
    this.#store = store;
    this.#logger = observability.logger ?? silentLogger;
    this.#metrics = observability.metrics;
  }

  async get(): Promise<{ access: AccessVerifier; id: IdVerifier; logout: LogoutVerifier }> {
    if (this.#built) return this.#built;
    const metadata = await this.#provider.metadata();
    const { issuer, clientId, algorithms, tenantId } = this.#config;
    const logger = this.#logger;
    const keySource: KeySource = createKeySource({ jwksUri: metadata.jwks_uri, logger, timeoutMs: this.#config.idpTimeoutMs, ...(this.#metrics ? { fetch: this.#metrics.idpFetch('jwks') } : {}) });
    const mosaicShaped = this.#config.mosaicRegion !== undefined || mosaicLogoutUrlFor(this.#config.discoveryUrl) !== undefined;
    this.#built = {
      access: createAccessTokenVerifier({
        issuer,
        jwksUri: metadata.jwks_uri,
        keySource,
        algorithms,
        // Mosaic's default audience is `userid-api`; a requested resource becomes the audience.
        audience: this.#config.audience ?? this.#config.resource ?? (mosaicShaped ? 'userid-api' : undefined),
        clientId: mosaicShaped ? clientId : undefined,
        tenantId,
        logger,
      }),
      id: createIdTokenVerifier({ issuer, clientId, keySource, algorithms, logger }),
      logout: createLogoutTokenVerifier({
        issuer,
        clientId,
        keySource,
        algorithms,
        rememberJti: (jti, ttlMs) => this.#store.putOnce(`jti:${jti}`, ttlMs),
        logger,
      }),
    };
    return this.#built;
  }
}
