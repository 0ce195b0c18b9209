/**
 * `tessera/dev-idp`: a local OpenID Provider shaped like Transmit Security Mosaic, for
 * development and tests only.
 */
export { startDevIdp, type DevIdp } from './server.js';
export type { DevIdpOptions } from './options.js';
export type { ClientMetadata } from './clients.js';
export type { DevUser } from './users.js';
export {
  DEFAULT_AUDIENCE,
  DEV_CLIENT_ID,
  DEV_CLIENT_SECRET,
  DEV_OTP_CODE,
  DEV_TENANT_ID,
} from './constants.js';
