/**
 * Mosaic's logout API, `POST /cis/v1/auth/logout` with `Authorization: Bearer <access token>`:
 * ends the user's IdP sessions and answers `200 {"sessions_count": n}`; a missing or invalid
 * token answers `401 {"message":"Invalid token","error_code":401}`.
 *
 * Mosaic's documents disagree on the scope (one session, the app's sessions, all sessions); the
 * dev IdP ends every IdP session of the token's subject, and sends back-channel logout to the
 * clients that took part in them. Grants (and so offline refresh tokens) are kept.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Client, Provider } from 'oidc-provider';
import type { Logger } from '../observability/log.js';
import type { AccessTokenVerifier } from './access-tokens.js';
import type { ProviderStore } from './adapter.js';
import { bearerToken, sendJson } from './respond.js';

const invalidToken = { message: 'Invalid token', error_code: 401 };

/** oidc-provider 9 has `Client#backchannelLogout` (lib/models/client.js); @types/oidc-provider does not declare it. */
type BackchannelLogoutClient = Client & { backchannelLogout(sub: string, sid: string | undefined): Promise<void> };

export function createMosaicLogout(provider: Provider, store: ProviderStore, verify: AccessTokenVerifier, logger: Logger) {
  async function endSessionsOf(accountId: string): Promise<number> {
    let count = 0;
    for (const id of store.sessionIdsForAccount(accountId)) {
      const session = await provider.Session.find(id);
      if (session?.accountId !== accountId) continue;
      await notifyClients(session.accountId, session.authorizations ?? {});
      await session.destroy();
      count += 1;
    }
    return count;
  }

  async function notifyClients(accountId: string, authorizations: Record<string, { sid?: string }>) {
    await Promise.all(Object.entries(authorizations).map(async ([clientId, { sid }]) => {
      const client = await provider.Client.find(clientId).catch(() => undefined) as BackchannelLogoutClient | undefined;
      if (client?.backchannelLogoutUri === undefined) return;
      await client.backchannelLogout(accountId, sid).catch((err: unknown) => {
        logger.warn({ client: clientId, error: err instanceof Error ? err.message : String(err) }, 'dev IdP back-channel logout failed');
      });
    }));
  }

  return async function handleMosaicLogout(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume(); // no body is expected; drain whatever came
    if (req.method !== 'POST') {
      sendJson(res, 405, { message: 'Method not allowed', error_code: 405 }, { allow: 'POST' });
      return;
    }
    const token = bearerToken(req);
    const claims = token === undefined ? undefined : await verify(token);
    if (claims === undefined) {
      sendJson(res, 401, invalidToken, { 'www-authenticate': 'Bearer error="invalid_token"' });
      return;
    }
    const sessionsCount = await endSessionsOf(claims.sub);
    logger.debug({ sub: claims.sub, sessions: sessionsCount }, 'dev IdP logout API ended sessions');
    sendJson(res, 200, { sessions_count: sessionsCount });
  };
}
