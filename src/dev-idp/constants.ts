/** Fixed values of the dev IdP that clients and tests may rely on. */

/** The tenant id (`tid`) in every token of the dev IdP. */
export const DEV_TENANT_ID = 'dev-tenant';

/** The pre-registered confidential client. */
export const DEV_CLIENT_ID = 'tessera-dev';
export const DEV_CLIENT_SECRET = 'tessera-dev-secret';

/** Mosaic's default access-token audience. */
export const DEFAULT_AUDIENCE = 'userid-api';

/**
 * oidc-provider only takes absolute URIs as resource indicators, so the default resource has
 * this internal indicator; its tokens carry `aud: "userid-api"`.
 */
export const DEFAULT_RESOURCE_INDICATOR = 'urn:tessera:dev-idp:userid-api';

/** The one code the MFA step accepts. */
export const DEV_OTP_CODE = '123456';

/** `acr` after a password login, and after the one-time-code step (`acr_values=mfa`). */
export const ACR_PASSWORD = 'pwd';
export const ACR_MFA = 'mfa';

/** Where the provider is mounted, and Mosaic's token routes outside that mount. */
export const OIDC_MOUNT = '/cis/oidc';
export const MOSAIC_TOKEN_PATH = '/oidc/token';
export const MOSAIC_REVOCATION_PATH = '/oidc/token/revocation';
export const MOSAIC_LOGOUT_PATH = '/cis/v1/auth/logout';
