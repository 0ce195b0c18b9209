/** The text the dev IdP prints at start. */
import type { ClientMetadata } from './clients.js';
import { DEV_OTP_CODE } from './constants.js';
import type { DevUser } from './users.js';

export interface BannerFacts {
  issuer: string;
  discoveryUrl: string;
  dataDir: string;
  clients: readonly ClientMetadata[];
  users: readonly DevUser[];
}

export function formatBanner(facts: BannerFacts): string {
  const clients = facts.clients.map((c) =>
    `  client        ${c.client_id}${c.client_secret === undefined ? '' : ` / secret ${c.client_secret}`}`);
  const users = facts.users.map((u) =>
    `  user          ${u.username} / ${u.password}${u.roles.length > 0 ? `  (roles: ${u.roles.join(', ')})` : ''}`);
  return [
    '',
    'Tessera development identity provider (Mosaic-shaped, built on oidc-provider)',
    'FOR DEVELOPMENT AND TESTS ONLY: well-known demo passwords and secrets, no real security.',
    `  issuer        ${facts.issuer}`,
    `  discovery     ${facts.discoveryUrl}`,
    ...clients,
    ...users,
    `  MFA code      ${DEV_OTP_CODE} (acr_values=mfa)`,
    `  state         ${facts.dataDir}`,
    '',
  ].join('\n');
}
