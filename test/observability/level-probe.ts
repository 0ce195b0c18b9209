/**
 * Run as a child process by logs.test.ts: a Tessera instance without a logger, at the level given
 * as the first argument (TESSERA_LOG_LEVEL is set to debug around it and must not matter). It
 * logs an info line (session created), a warn line (callback rejected) and an info line
 * (session ended), all on stderr; stdout stays empty.
 */
import { generateKeyEntry } from '../../src/keys/index.js';
import { createTessera, internalsOf } from '../../src/tessera.js';

const tessera = createTessera({
  publicUrl: 'http://localhost:3000', issuer: 'http://127.0.0.1:9/never-contacted', clientId: 'c', clientSecret: 's',
  keys: generateKeyEntry(), store: 'memory:', logLevel: process.argv[2] as 'debug' | 'info' | 'warn' | 'error' | 'silent',
});
const sessions = internalsOf(tessera).sessions;
const { storeKey } = await sessions.create({ access_token: 'a' }, { sub: 'alice', roles: [], accessTokenExpiresAt: Math.floor(Date.now() / 1000) + 600 });
await tessera.handle(new Request('http://localhost:3000/auth/callback'));
await sessions.revoke(storeKey);
await tessera.close();
