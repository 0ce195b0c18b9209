import { strict as assert } from 'node:assert';
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { isTesseraError, type TesseraErrorCode } from '../../src/errors.js';
import { startDevIdp } from '../../src/dev-idp/index.js';
import { Browser } from '../helpers/browser.js';
import {
  atCallback,
  authorizationRequest,
  makeDataDir,
  signInAndExchange,
  startTestIdp,
  type TestIdp,
} from './support.js';

describe('dev IdP with a users file and a clients file', () => {
  let t: TestIdp;
  before(async () => {
    const dataDir = await makeDataDir();
    const usersFile = join(dataDir, 'users.json');
    await writeFile(usersFile, JSON.stringify([
      { username: 'carol', password: 'carol-pw', sub: 'c0ffee00-0000-4000-8000-000000000001', roles: ['auditor'], email: 'carol@example.com', name: 'Carol' },
    ]));
    const clientsFile = join(dataDir, 'clients.json');
    await writeFile(clientsFile, JSON.stringify([
      { client_id: 'file-app', client_secret: 'file-app-secret', client_name: 'File App', redirect_uris: ['http://localhost:3200/auth/callback'] },
    ]));
    t = await startTestIdp({ dataDir, usersFile, clientsFile });
  });
  after(() => t.stop());

  test('the users file replaces alice and bob', async () => {
    const request = authorizationRequest(t.idp);
    const page = await new Browser().signIn(request.url, { username: 'alice', password: 'alice', stopAt: atCallback });
    assert.equal(page.stopped, false);
    assert.equal(page.status, 401);
    assert.match(page.text, /Invalid username or password/);
  });

  test('a user from the file signs in, with its sub and roles in the tokens', async () => {
    const { tokens } = await signInAndExchange(t.idp, new Browser(), { username: 'carol', password: 'carol-pw' });
    const jwks = createRemoteJWKSet(new URL('/cis/oidc/jwks', t.idp.url));
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: t.idp.issuer });
    assert.equal(payload.sub, 'c0ffee00-0000-4000-8000-000000000001');
    assert.deepEqual(payload.roles, ['auditor']);
    const id = await jwtVerify(tokens.id_token, jwks, { issuer: t.idp.issuer });
    assert.deepEqual(id.payload.roles, ['auditor']);
  });

  test('a client from the clients file signs in with its own redirect URI and secret', async () => {
    const { tokens } = await signInAndExchange(t.idp, new Browser(), { username: 'carol', password: 'carol-pw' }, {
      client_id: 'file-app',
      redirect_uri: 'http://localhost:3200/auth/callback',
    }, { clientSecret: 'file-app-secret', auth: 'basic' });
    const jwks = createRemoteJWKSet(new URL('/cis/oidc/jwks', t.idp.url));
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: t.idp.issuer });
    assert.equal(payload.client_id, 'file-app');
    assert.equal(payload.app_name, 'File App');
  });

  test('a client from the file does not get the loopback wildcard of tessera-dev', async () => {
    const request = authorizationRequest(t.idp, { client_id: 'file-app', redirect_uri: 'http://localhost:9999/auth/callback' });
    const page = await new Browser().navigate(request.url, { stopAt: atCallback });
    assert.equal(page.stopped, false);
    assert.equal(page.status, 400);
  });
});

describe('dev IdP start-up checks', () => {
  const expectStartFailure = async (options: Parameters<typeof startDevIdp>[0], code: TesseraErrorCode, pattern: RegExp) => {
    const dataDir = await makeDataDir();
    try {
      await assert.rejects(startDevIdp({ port: 0, quiet: true, dataDir, ...options }), (err: unknown) => {
        assert.ok(isTesseraError(err, code), `expected ${code}, got ${String(err)}`);
        assert.match(err.message, pattern);
        return true;
      });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  };

  test('an invalid users file fails at start and names the problem', async () => {
    const dataDir = await makeDataDir();
    const usersFile = join(dataDir, 'users.json');
    await writeFile(usersFile, JSON.stringify([{ username: 'dave', roles: ['user'] }]));
    try {
      await expectStartFailure({ usersFile }, 'ERR_DEV_IDP_USERS', /password/);
      await writeFile(usersFile, '{not json');
      await expectStartFailure({ usersFile }, 'ERR_DEV_IDP_USERS', /users\.json/);
      await expectStartFailure({ usersFile: join(dataDir, 'missing.json') }, 'ERR_DEV_IDP_USERS', /missing\.json/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('invalid ports and token lifetimes from the environment fail at start, naming the variable', async () => {
    const saved = { ...process.env };
    try {
      process.env.TESSERA_DEV_IDP_PORT = 'eighty';
      await expectStartFailure({ port: undefined }, 'ERR_DEV_IDP_CONFIG', /TESSERA_DEV_IDP_PORT/);
      delete process.env.TESSERA_DEV_IDP_PORT;
      process.env.TESSERA_DEV_IDP_ACCESS_TOKEN_TTL = '-5';
      await expectStartFailure({}, 'ERR_DEV_IDP_CONFIG', /TESSERA_DEV_IDP_ACCESS_TOKEN_TTL/);
    } finally {
      process.env = saved;
    }
  });

  test('TESSERA_DEV_IDP_ACCESS_TOKEN_TTL sets expires_in', async () => {
    const saved = process.env.TESSERA_DEV_IDP_ACCESS_TOKEN_TTL;
    process.env.TESSERA_DEV_IDP_ACCESS_TOKEN_TTL = '90';
    const t = await startTestIdp();
    try {
      const { tokens } = await signInAndExchange(t.idp, new Browser(), { username: 'alice', password: 'alice' });
      assert.equal(tokens.expires_in, 90);
    } finally {
      if (saved === undefined) delete process.env.TESSERA_DEV_IDP_ACCESS_TOKEN_TTL;
      else process.env.TESSERA_DEV_IDP_ACCESS_TOKEN_TTL = saved;
      await t.stop();
    }
  });

  test('a port in use is reported clearly', async () => {
    const t = await startTestIdp();
    try {
      await expectStartFailure({ port: t.idp.port }, 'ERR_DEV_IDP_PORT_IN_USE', new RegExp(String(t.idp.port)));
    } finally {
      await t.stop();
    }
  });

  test('the banner names the issuer, discovery URL, client, users, and says development only', async () => {
    const dataDir = await makeDataDir();
    const chunks: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string | Uint8Array) => {
      chunks.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    let idp;
    try {
      idp = await startDevIdp({ port: 0, dataDir });
    } finally {
      process.stdout.write = write;
    }
    try {
      const banner = chunks.join('');
      assert.ok(banner.includes(idp.issuer));
      assert.ok(banner.includes(idp.discoveryUrl));
      assert.match(banner, /tessera-dev/);
      assert.match(banner, /tessera-dev-secret/);
      assert.match(banner, /alice \/ alice/);
      assert.match(banner, /bob \/ bob/);
      assert.match(banner, /development and tests only/i);
    } finally {
      await idp.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
