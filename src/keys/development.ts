import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyEntry } from './keyring.js';

/**
 * In development only: a key ring generated once and kept in `<dataDir>/keys`, so sessions
 * survive a restart without the user having to set `TESSERA_KEYS`.
 */
export function developmentKeys(dataDir: string): string {
  const file = join(dataDir, 'keys');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync(dataDir, { recursive: true });
    const ring = generateKeyEntry();
    try {
      writeFileSync(file, ring + '\n', { mode: 0o600, flag: 'wx' });
      return ring;
    } catch {
      // Another process wrote it first: use theirs.
      return readFileSync(file, 'utf8').trim();
    }
  }
}
