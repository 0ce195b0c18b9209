export { createTessera, type Tessera, type TesseraDependencies } from './tessera.js';
export { TesseraError, isTesseraError } from './errors.js';
export { loadConfig, resolveConfig, describeConfig, type TesseraConfig, type TesseraOptionsInput } from './config/index.js';
export { createAccessTokenVerifier, type AccessTokenVerifierOptions, type AccessTokenClaims } from './tokens/index.js';
export { memoryStore, sqliteStore, redisStore, postgresStore, openStore } from './stores/index.js';
export type { SessionStore, SessionRecord } from './stores/types.js';
export type { AuthResult, Session, AnonymousReason } from './session/manager.js';
export { generateKeyEntry } from './keys/index.js';
export { startGateway, type Gateway } from './gateway/server.js';
