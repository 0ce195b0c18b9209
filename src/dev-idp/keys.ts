/**
 * The dev IdP's secrets: an RSA signing key (JWK, RS256) and the cookie-signing keys, generated
 * on first start and kept in `<dataDir>/dev-idp/keys.json` so tokens and IdP sessions survive a
 * restart. A rotation (`DevIdp.rotateSigningKey`) puts a new signing key first and keeps the
 * old ones published until `DevIdp.retireSigningKeys` drops them.
 */
import { generateKeyPair, randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { z } from 'zod';
import { TesseraError } from '../errors.js';

export interface DevIdpKeys {
  /** Private signing keys (JWK with `kid`, `alg: RS256`, `use: sig`); the first one signs. */
  signing: JWK[];
  /** Secrets for oidc-provider's signed cookies; the first one signs. */
  cookies: string[];
}

const keysSchema = z.object({
  signing: z.array(z.looseObject({ kty: z.literal('RSA'), kid: z.string().min(1), d: z.string().min(1) })).min(1),
  cookies: z.array(z.string().min(32)).min(1),
});

const generateRsa = promisify(generateKeyPair);

export async function generateSigningKey(): Promise<JWK> {
  const { privateKey } = await generateRsa('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'RS256', use: 'sig' };
}

/** Reads the keys file in `dir`, creating it (with new keys) when it does not exist. */
export async function loadOrCreateKeys(dir: string): Promise<DevIdpKeys> {
  const file = join(dir, 'keys.json');
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new TesseraError('ERR_DEV_IDP_KEYS', `cannot read ${file}: ${(cause as Error).message}`, { cause });
    }
  }
  if (text !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      throw new TesseraError('ERR_DEV_IDP_KEYS', `${file} is not valid JSON; delete it to generate new keys`, { cause });
    }
    const result = keysSchema.safeParse(parsed);
    if (!result.success) {
      throw new TesseraError('ERR_DEV_IDP_KEYS', `${file} does not hold dev IdP keys (${result.error.issues[0]?.message ?? 'invalid'}); delete it to generate new keys`);
    }
    return { signing: result.data.signing as JWK[], cookies: result.data.cookies };
  }

  const keys: DevIdpKeys = {
    signing: [await generateSigningKey()],
    cookies: [randomBytes(32).toString('base64url')],
  };
  await saveKeys(dir, keys);
  return keys;
}

/** Writes the keys file in `dir` atomically (a temporary file renamed over it), mode 0600. */
export async function saveKeys(dir: string, keys: DevIdpKeys): Promise<void> {
  const file = join(dir, 'keys.json');
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(keys, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, file);
}
