/**
 * Mosaic's regions. The issuer (`iss`) host differs from the API host that serves discovery,
 * so both are kept apart here (MOSAIC.md "Hosts and endpoints").
 */
export const mosaicRegions = {
  us: { issuer: 'https://userid.security', api: 'https://api.transmitsecurity.io' },
  eu: { issuer: 'https://eu.userid.security', api: 'https://api.eu.transmitsecurity.io' },
  ca: { issuer: 'https://ca.userid.security', api: 'https://api.ca.transmitsecurity.io' },
  au: { issuer: 'https://au.userid.security', api: 'https://api.au.transmitsecurity.io' },
  // The sandbox issuer is not documented: TESSERA_ISSUER must be given with this region.
  sandbox: { issuer: undefined, api: 'https://api.sbx.transmitsecurity.io' },
} as const;

export type MosaicRegion = keyof typeof mosaicRegions;

export const mosaicDiscoveryPath = '/cis/oidc/.well-known/openid-configuration';
export const mosaicLogoutPath = '/cis/v1/auth/logout';

/** Mosaic's logout API lives on the host that serves Mosaic-shaped discovery. */
export function mosaicLogoutUrlFor(discoveryUrl: string): string | undefined {
  const url = new URL(discoveryUrl);
  return url.pathname === mosaicDiscoveryPath ? new URL(mosaicLogoutPath, url).href : undefined;
}
