import { jwtVerify, type JWSHeaderParameters, type JWTPayload } from 'jose';
import type { JwsAlgorithm } from './algorithms.js';
import { checkProtectedHeader, type TypRule } from './header.js';
import type { KeySource } from './keys.js';

export interface JwtRules {
  issuer: string;
  audience?: string | readonly string[] | undefined;
  algorithms: readonly JwsAlgorithm[];
  /** Seconds. */
  clockTolerance: number;
  requiredClaims: readonly string[];
  /** Seconds; also makes `iat` required and rejects an `iat` in the future. */
  maxTokenAge?: number | undefined;
  typ: TypRule;
  expected: string;
  keySource: KeySource;
}

export interface VerifiedJwt {
  payload: JWTPayload;
  header: JWSHeaderParameters & { alg: JwsAlgorithm };
}

/**
 * The common pipeline, on jose: jose parses the header (JSON object, strict UTF-8) and checks
 * `alg` against the allow-list, then calls the key resolver, where the header policy runs
 * before the key lookup; jose then verifies the signature and the registered claims
 * (`iss` exact, `aud` contains, `exp`, `nbf`, required claims). Errors are jose's or
 * TesseraErrors from the policy; callers map them with `rejectToken`.
 */
export async function verifyJwt(token: string, rules: JwtRules): Promise<VerifiedJwt> {
  const algorithms = new Set(rules.algorithms);
  const headerRules = { algorithms, typ: rules.typ, expected: rules.expected };
  const { payload, protectedHeader } = await jwtVerify(
    token,
    (header: JWSHeaderParameters) => {
      checkProtectedHeader(header, headerRules);
      return rules.keySource.getKey(header);
    },
    {
      algorithms: [...algorithms],
      issuer: rules.issuer,
      ...(rules.audience === undefined ? {} : { audience: typeof rules.audience === 'string' ? rules.audience : [...rules.audience] }),
      clockTolerance: rules.clockTolerance,
      requiredClaims: [...rules.requiredClaims],
      ...(rules.maxTokenAge === undefined ? {} : { maxTokenAge: rules.maxTokenAge }),
    },
  );
  // jose returns only after the resolver ran, so this header has passed the policy.
  return { payload, header: protectedHeader as VerifiedJwt['header'] };
}
