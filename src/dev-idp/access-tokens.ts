/**
 * Verification of the dev IdP's own JWT access tokens, for the routes it serves itself (Mosaic's
 * logout API and userinfo): signature against its keys, `iss`, `exp`, `typ: at+jwt` (so an ID
 * token signed by the same key is refused).
 */
import { createLocalJWKSet, jwtVerify, type JWK, type JWTPayload } from 'jose';

export interface AccessTokenClaims extends JWTPayload {
  sub: string;
  scope?: string;
  client_id?: string;
}

export type AccessTokenVerifier = (token: string) => Promise<AccessTokenClaims | undefined>;

export function createAccessTokenVerifier(issuer: string, signingKeys: readonly JWK[]): AccessTokenVerifier {
  const publicKeys = signingKeys.map(({ kty, n, e, kid, alg, use }) => ({ kty, n, e, kid, alg, use }));
  const jwks = createLocalJWKSet({ keys: publicKeys });
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, jwks, { issuer, algorithms: ['RS256'], typ: 'at+jwt' });
      return typeof payload.sub === 'string' ? (payload as AccessTokenClaims) : undefined;
    } catch {
      return undefined;
    }
  };
}
