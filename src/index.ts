import type { startGateway as StartGateway } from './gateway/server.js';
export { createTessera, type Tessera, type TesseraDependencies } from './tessera.js';
export { TesseraError, isTesseraError, errorCatalogue, type TesseraErrorCode, type TesseraErrorPrefix } from './errors.js';
export { loadConfig, resolveConfig, describeConfig, type TesseraConfig, type TesseraOptionsInput } from './config/index.js';
export { createAccessTokenVerifier, type AccessTokenVerifierOptions, type AccessTokenClaims } from './tokens/index.js';
export { memoryStore, sqliteStore, redisStore, postgresStore, openStore } from './stores/index.js';
export type { SessionStore, SessionRecord } from './stores/types.js';
export type { AuthResult, Session, AnonymousReason } from './session/manager.js';
export type { SessionEnd, SessionEndListener, SessionEndReason } from './session/ends.js';
export { generateKeyEntry } from './keys/index.js';
export type { Gateway } from './gateway/server.js';
export type { Logger, LogFields, LogLevel } from './observability/log.js';
export type { Metrics } from './observability/metrics.js';

/** Starts the gateway. It and its proxy client (undici) load on the first call, not with `import 'tessera'`. */
export const startGateway: typeof StartGateway = async (...args) => (await import('./gateway/server.js')).startGateway(...args);
