import { strict as assert } from 'node:assert';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { startDevIdp } from '../../src/dev-idp/index.js';
import { Browser } from '../helpers/browser.js';
import { makeDataDir, signInAndExchange, silentAuth, tokenRequest } from './support.js';

async function kidOf(url: string): Promise<string> {
  const { keys } = (await (await fetch(`${url}/cis/oidc/jwks`)).json()) as { keys: { kid: string }[] };
  assert.equal(keys.length, 1);
  return keys[0]?.kid ?? '';
}

test('a restart with the same data directory keeps the signing key, IdP sessions and refresh tokens', async () => {
  const dataDir = await makeDataDir();
  try {
    const first = await startDevIdp({ port: 0, dataDir, quiet: true });
    const browser = new Browser();
    let kid: string;
    let refreshToken: string;
    let accessToken: string;
    try {
      kid = await kidOf(first.url);
      const { tokens } = await signInAndExchange(first, browser, { username: 'alice', password: 'alice' }, {
        scope: 'openid offline_access',
      });
      assert.equal(decodeProtectedHeader(tokens.access_token).kid, kid);
      refreshToken = tokens.refresh_token ?? '';
      accessToken = tokens.access_token;
    } finally {
      await first.close();
    }

    const keysFile = join(dataDir, 'dev-idp', 'keys.json');
    assert.equal((await stat(keysFile)).mode & 0o077, 0, 'the keys file is private to its owner');
    assert.match(await readFile(keysFile, 'utf8'), /"d":/);

    const second = await startDevIdp({ port: first.port, dataDir, quiet: true });
    try {
      assert.equal(await kidOf(second.url), kid, 'same kid after restart');
      const jwks = createRemoteJWKSet(new URL('/cis/oidc/jwks', second.url));
      await jwtVerify(accessToken, jwks, { issuer: second.issuer });

      const silent = await silentAuth(second, browser);
      assert.equal(silent.params.get('error'), null, silent.params.get('error_description') ?? '');
      assert.ok(silent.params.get('code'), 'the IdP session survived the restart');

      const response = await tokenRequest(second, { grant_type: 'refresh_token', refresh_token: refreshToken });
      assert.equal(response.status, 200, await response.clone().text());
    } finally {
      await second.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a fresh data directory gets a new signing key', async () => {
  const [a, b] = [await makeDataDir(), await makeDataDir()];
  const one = await startDevIdp({ port: 0, dataDir: a, quiet: true });
  const two = await startDevIdp({ port: 0, dataDir: b, quiet: true });
  try {
    assert.notEqual(await kidOf(one.url), await kidOf(two.url));
  } finally {
    await Promise.all([one.close(), two.close()]);
    await Promise.all([rm(a, { recursive: true, force: true }), rm(b, { recursive: true, force: true })]);
  }
});

test('close() frees the port and can be called twice', async () => {
  const dataDir = await makeDataDir();
  try {
    const idp = await startDevIdp({ port: 0, dataDir, quiet: true });
    await fetch(idp.discoveryUrl).then((r) => r.arrayBuffer()); // leaves a keep-alive connection
    await Promise.all([idp.close(), idp.close()]);
    await assert.rejects(fetch(idp.discoveryUrl));
    const again = await startDevIdp({ port: idp.port, dataDir, quiet: true });
    await again.close();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('after a restart with a users file that drops the user, the old IdP session needs a new login', async () => {
  const dataDir = await makeDataDir();
  try {
    const first = await startDevIdp({ port: 0, dataDir, quiet: true });
    const browser = new Browser();
    try {
      await signInAndExchange(first, browser, { username: 'alice', password: 'alice' });
    } finally {
      await first.close();
    }
    const usersFile = join(dataDir, 'users.json');
    await writeFile(usersFile, JSON.stringify([{ username: 'zed', password: 'zed', roles: ['user'] }]));
    const second = await startDevIdp({ port: first.port, dataDir, quiet: true, usersFile });
    try {
      const silent = await silentAuth(second, browser);
      assert.equal(silent.params.get('error'), 'login_required');
      const { tokens } = await signInAndExchange(second, browser, { username: 'zed', password: 'zed' });
      const jwks = createRemoteJWKSet(new URL('/cis/oidc/jwks', second.url));
      assert.equal((await jwtVerify(tokens.id_token, jwks)).payload.sub, 'zed');
    } finally {
      await second.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
