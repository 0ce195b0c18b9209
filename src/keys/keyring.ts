import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { TesseraError } from '../errors.js';

/**
 * The sealing key ring (`TESSERA_KEYS`): comma-separated `<kid>:<base64url of 32 bytes>`
 * entries. The first entry seals; every entry opens what carries its kid, so a key is rotated
 * by putting a new one first and dropping the old one once nothing sealed with it is alive
 * (the absolute session timeout).
 *
 * Sealed form: `<kid>.<iv>.<ciphertext+tag>` (base64url), AES-256-GCM with a 96-bit random IV
 * and the purpose ("session", "txn", …) as additional authenticated data, so a value sealed
 * for one purpose never opens as another.
 */
export interface KeyRing {
  seal(plaintext: string, purpose: string): string;
  /** The plaintext, or undefined when the value is malformed, forged or sealed by an unknown key. */
  open(sealed: string, purpose: string): string | undefined;
  readonly currentKid: string;
}

const kidPattern = /^[A-Za-z0-9_-]{1,32}$/;

export function parseKeyRing(spec: string): KeyRing {
  const keys = new Map<string, Buffer>();
  let currentKid: string | undefined;
  for (const entry of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const at = entry.indexOf(':');
    const kid = entry.slice(0, at);
    const secret = Buffer.from(entry.slice(at + 1), 'base64url');
    if (at < 1 || !kidPattern.test(kid) || secret.length !== 32) {
      throw new TesseraError('ERR_CONFIG_KEYS', 'TESSERA_KEYS: expected comma-separated <kid>:<32 bytes base64url> entries (see `tessera keys generate`)');
    }
    if (keys.has(kid)) throw new TesseraError('ERR_CONFIG_KEYS', `TESSERA_KEYS: key id "${kid}" appears twice`);
    keys.set(kid, secret);
    currentKid ??= kid;
  }
  if (currentKid === undefined) throw new TesseraError('ERR_CONFIG_KEYS', 'TESSERA_KEYS: no key given');
  const sealingKid = currentKid;
  const sealingKey = keys.get(sealingKid)!;

  return {
    currentKid: sealingKid,
    seal(plaintext, purpose) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', sealingKey, iv);
      cipher.setAAD(Buffer.from(purpose));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `${sealingKid}.${iv.toString('base64url')}.${body.toString('base64url')}`;
    },
    open(sealed, purpose) {
      const parts = sealed.split('.');
      if (parts.length !== 3) return undefined;
      const [kid, ivText, bodyText] = parts as [string, string, string];
      const key = keys.get(kid);
      if (key === undefined) return undefined;
      const iv = Buffer.from(ivText, 'base64url');
      const body = Buffer.from(bodyText, 'base64url');
      if (iv.length !== 12 || body.length < 16) return undefined;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv);
        decipher.setAAD(Buffer.from(purpose));
        decipher.setAuthTag(body.subarray(body.length - 16));
        return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString('utf8');
      } catch {
        return undefined;
      }
    },
  };
}

/** One new key ring entry: `<kid>:<secret>`. */
export function generateKeyEntry(): string {
  const kid = `k${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  return `${kid}:${randomBytes(32).toString('base64url')}`;
}
