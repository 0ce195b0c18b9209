/**
 * The dev IdP's OAuth clients: the built-in confidential client `tessera-dev`, plus clients from
 * a JSON file or given programmatically (a client with the same `client_id` replaces an earlier
 * one, so `tessera-dev` itself can be re-registered, e.g. with a `backchannel_logout_uri`).
 */
import { readFile } from 'node:fs/promises';
import { TesseraError } from '../errors.js';
import { DEV_CLIENT_ID, DEV_CLIENT_SECRET } from './constants.js';

/** OpenID Connect Dynamic Client Registration metadata, as oidc-provider accepts it. */
export interface ClientMetadata {
  client_id: string;
  client_secret?: string;
  client_name?: string;
  redirect_uris?: string[];
  post_logout_redirect_uris?: string[];
  grant_types?: string[];
  response_types?: string[];
  token_endpoint_auth_method?: string;
  backchannel_logout_uri?: string;
  backchannel_logout_session_required?: boolean;
  [property: string]: unknown;
}


export const defaultClient: Readonly<ClientMetadata> = Object.freeze({
  client_id: DEV_CLIENT_ID,
  client_secret: DEV_CLIENT_SECRET,
  client_name: 'Tessera (development)',
  // Any loopback origin is accepted as well, see isLoopbackCallback.
  redirect_uris: ['http://localhost:3000/auth/callback'],
  post_logout_redirect_uris: ['http://localhost:3000/'],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  // oidc-provider accepts client_secret_basic for a client_secret_post client too (and vice versa).
  token_endpoint_auth_method: 'client_secret_post',
});

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

function loopbackUrl(value: string): URL | undefined {
  const url = URL.parse(value);
  if (url === null || url.protocol !== 'http:' || !loopbackHosts.has(url.hostname)) return undefined;
  if (url.username !== '' || url.password !== '' || url.hash !== '') return undefined;
  return url;
}

/** `http://localhost|127.0.0.1|[::1]:<any port>/auth/callback` (query allowed, no fragment). */
export function isLoopbackCallback(value: string): boolean {
  return loopbackUrl(value)?.pathname === '/auth/callback';
}

/** Any path on a loopback http origin. */
export function isLoopbackUrl(value: string): boolean {
  return loopbackUrl(value) !== undefined;
}

/** The built-in client followed by the extra ones; later entries replace earlier ones by id. */
export function mergeClients(...lists: readonly (readonly ClientMetadata[])[]): ClientMetadata[] {
  const byId = new Map<string, ClientMetadata>();
  for (const list of lists) {
    for (const [i, client] of list.entries()) {
      if (typeof client !== 'object' || client === null || typeof client.client_id !== 'string' || client.client_id === '') {
        throw new TesseraError('ERR_DEV_IDP_CLIENTS', `dev IdP client #${i} has no client_id`);
      }
      const metadata: ClientMetadata = { ...client };
      // Back-channel logout here always carries the IdP session id (what Tessera matches on).
      if (metadata.backchannel_logout_uri !== undefined && metadata.backchannel_logout_session_required === undefined) {
        metadata.backchannel_logout_session_required = true;
      }
      byId.set(client.client_id, metadata);
    }
  }
  return [...byId.values()];
}

export async function loadClientsFile(file: string | undefined): Promise<ClientMetadata[]> {
  if (file === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (cause) {
    throw new TesseraError('ERR_DEV_IDP_CLIENTS', `cannot read the dev IdP clients file ${file}: ${(cause as Error).message}`, { cause });
  }
  if (!Array.isArray(parsed)) {
    throw new TesseraError('ERR_DEV_IDP_CLIENTS', `the dev IdP clients file ${file} must hold a JSON array of client metadata objects`);
  }
  return parsed as ClientMetadata[];
}
