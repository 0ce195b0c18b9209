/**
 * `GET|POST /cis/oidc/me`. oidc-provider's own userinfo endpoint only takes access tokens
 * without an audience, and every token here is a JWT for `userid-api` or a resource, so — like
 * Mosaic — the dev IdP answers userinfo for its JWT access tokens itself.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessTokenVerifier } from './access-tokens.js';
import { DEV_TENANT_ID } from './constants.js';
import { bearerToken, sendJson } from './respond.js';
import type { UserDirectory } from './users.js';

export function createUserinfo(users: UserDirectory, verify: AccessTokenVerifier) {
  return async function handleUserinfo(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume();
    if (req.method !== 'GET' && req.method !== 'POST') {
      sendJson(res, 405, { error: 'invalid_request', error_description: 'use GET or POST' }, { allow: 'GET, POST' });
      return;
    }
    const token = bearerToken(req);
    const claims = token === undefined ? undefined : await verify(token);
    const user = claims === undefined ? undefined : users.findBySub(claims.sub);
    if (claims === undefined || user === undefined) {
      sendJson(res, 401, { error: 'invalid_token', error_description: 'invalid access token' }, {
        'www-authenticate': 'Bearer error="invalid_token"',
      });
      return;
    }
    const scopes = new Set((claims.scope ?? '').split(' '));
    if (!scopes.has('openid')) {
      sendJson(res, 403, { error: 'insufficient_scope', error_description: 'access token missing openid scope' }, {
        'www-authenticate': 'Bearer error="insufficient_scope", scope="openid"',
      });
      return;
    }
    sendJson(res, 200, {
      sub: user.sub,
      tid: DEV_TENANT_ID,
      roles: [...user.roles],
      ...(scopes.has('profile') ? { preferred_username: user.username, ...(user.name === undefined ? {} : { name: user.name }) } : {}),
      ...(scopes.has('email') && user.email !== undefined ? { email: user.email, email_verified: true } : {}),
    });
  };
}
