import type { TesseraConfig } from '../config/index.js';
import { mosaicLogoutUrlFor } from '../config/mosaic.js';
import type { SessionStore } from '../stores/types.js';
import {
  createAccessTokenVerifier, createIdTokenVerifier, createKeySource, createLogoutTokenVerifier,
  type KeySource,
} from '../tokens/index.js';
import type { IdentityProvider } from './provider.js';

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

  constructor(config: TesseraConfig, provider: IdentityProvider, store: SessionStore) {
    this.#config = config;
    this.#provider = provider;
    this.#store = store;
  }

  async get(): Promise<{ access: AccessVerifier; id: IdVerifier; logout: LogoutVerifier }> {
    if (this.#built) return this.#built;
    const metadata = await this.#provider.metadata();
    const { issuer, clientId, algorithms, tenantId } = this.#config;
    const keySource: KeySource = createKeySource({ jwksUri: metadata.jwks_uri });
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
      }),
      id: createIdTokenVerifier({ issuer, clientId, keySource, algorithms }),
      logout: createLogoutTokenVerifier({
        issuer,
        clientId,
        keySource,
        algorithms,
        rememberJti: (jti, ttlMs) => this.#store.putOnce(`jti:${jti}`, ttlMs),
      }),
    };
    return this.#built;
  }
}
