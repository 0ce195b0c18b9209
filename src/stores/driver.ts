import { createRequire } from 'node:module';
import { TesseraError } from '../errors.js';

/** The database client packages, one per kind of store. */
export type DriverPackage = 'better-sqlite3' | 'ioredis' | 'pg';

const require = createRequire(import.meta.url);

/**
 * Loads a store's driver when the first store of its kind is created, not when Tessera is
 * imported: a Redis user never loads SQLite's native addon (and need not be able to build it).
 * The drivers are CommonJS, so this stays synchronous, and so do the store factories.
 */
export function loadDriver<T>(name: DriverPackage, store: string): T {
  try {
    return require(name) as T;
  } catch (err) {
    // Only the driver itself missing; a driver that is present but broken keeps its own error.
    const missing = (err as { code?: unknown }).code === 'MODULE_NOT_FOUND' && String((err as Error).message).includes(`'${name}'`);
    if (!missing) throw err;
    throw new TesseraError(
      'ERR_STORE_DRIVER_MISSING',
      `the ${store} session store needs the "${name}" package, which is not installed: run \`npm install ${name}\``,
      { cause: err },
    );
  }
}
