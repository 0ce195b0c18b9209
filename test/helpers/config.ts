/** Helpers for tests of configuration: a minimal valid environment and the problems an invalid one reports. */
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/index.js';
import { TesseraError } from '../../src/errors.js';

/** The smallest environment `loadConfig` accepts: issuer, client and one key. */
export const baseEnv = {
  TESSERA_ISSUER: 'https://idp.example.com',
  TESSERA_CLIENT_ID: 'app',
  TESSERA_CLIENT_SECRET: 'secret',
  TESSERA_KEYS: 'k1:' + Buffer.alloc(32, 1).toString('base64url'),
};

/** What `tessera serve` needs on top of `baseEnv` to start: an upstream (never reached), a memory store, any port. */
export const serveEnv = { ...baseEnv, TESSERA_UPSTREAM: 'http://127.0.0.1:9', TESSERA_STORE: 'memory:', TESSERA_PORT: '0' };

/**
 * The problem lines of the `ERR_CONFIG_INVALID` error `loadConfig(env)` throws, one per key,
 * trimmed (`TESSERA_X: …`). Fails the test when `env` is accepted.
 */
export function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof TesseraError);
    assert.equal(err.code, 'ERR_CONFIG_INVALID');
    return err.message.split('\n').slice(1).map((l) => l.trim());
  }
  assert.fail(`expected ${JSON.stringify(env)} to be rejected`);
}
