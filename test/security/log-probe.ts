/**
 * Run as a child process by session-cookies.test.ts with TESSERA_LOG_LEVEL=debug: signs in,
 * uses the session, sends a few bad requests (forged callback, cross-origin logout, defective
 * logout token), logs out while the IdP's logout API is down, and prints what a log must never
 * contain (the session id, its store key, the tokens) as one JSON line on stdout. The log lines
 * themselves go to stderr.
 */
import { createServer } from 'node:net';
import { startStack } from '../helpers/stack.js';
import { sha256, signIn } from './support.js';
import { internalsOf } from '../../src/tessera.js';

const closedPort = await new Promise<number>((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    server.close(() => resolve(port));
  });
});

const stack = await startStack({ options: { logoutApiUrl: `http://127.0.0.1:${closedPort}/cis/v1/auth/logout`, backchannelLogout: true } });
try {
  const browser = stack.browser();
  const id = await signIn(stack, browser);
  const key = sha256(id);
  const tokens = await internalsOf(stack.tessera).sessions.tokensFor(key);
  await browser.request(`${stack.url}/auth/session`, { headers: { accept: 'application/json' } });
  await browser.request(`${stack.url}/auth/callback?code=forged&state=${'s'.repeat(43)}`);
  await browser.request(`${stack.url}/auth/logout`, { method: 'POST', headers: { origin: 'https://evil.example' } });
  await browser.request(`${stack.url}/auth/backchannel-logout`, { method: 'POST', form: { logout_token: 'a.b.c' } });
  await browser.request(`${stack.url}/auth/logout`, { method: 'POST', headers: { origin: stack.url } });
  process.stdout.write(`${JSON.stringify({ id, key, accessToken: tokens?.access_token, idToken: tokens?.id_token })}\n`);
} finally {
  await stack.close();
}
