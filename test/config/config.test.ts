import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig, describeConfig } from '../../src/config/index.js';
import { baseEnv, problems } from '../helpers/config.js';

describe('configuration', () => {
  test('applies the documented defaults', () => {
    const config = loadConfig(baseEnv);
    assert.equal(config.port, 3000);
    assert.deepEqual(config.scopes, ['openid']);
    assert.deepEqual(config.algorithms, ['RS256']);
    assert.equal(config.store, 'sqlite:./.tessera/sessions.db');
    assert.equal(config.idleTimeoutMs, 30 * 60_000);
    assert.equal(config.absoluteTimeoutMs, 12 * 3_600_000);
    assert.equal(config.silentAuth, true);
    assert.equal(config.tokenRelay, false);
    assert.equal(config.discoveryUrl, 'https://idp.example.com/.well-known/openid-configuration');
    assert.equal(config.publicUrl, 'http://localhost:3000');
    assert.equal(config.secureCookies, false);
  });

  for (const [region, issuer, api] of [
    ['us', 'https://userid.security', 'https://api.transmitsecurity.io'],
    ['eu', 'https://eu.userid.security', 'https://api.eu.transmitsecurity.io'],
    ['ca', 'https://ca.userid.security', 'https://api.ca.transmitsecurity.io'],
    ['au', 'https://au.userid.security', 'https://api.au.transmitsecurity.io'],
  ] as const) {
    test(`TESSERA_MOSAIC_REGION=${region} fills Mosaic's issuer, discovery and logout API`, () => {
      const { TESSERA_ISSUER: _, ...rest } = baseEnv;
      const config = loadConfig({ ...rest, TESSERA_MOSAIC_REGION: region });
      assert.equal(config.issuer, issuer);
      assert.equal(config.discoveryUrl, `${api}/cis/oidc/.well-known/openid-configuration`);
      assert.equal(config.logoutApiUrl, `${api}/cis/v1/auth/logout`);
    });
  }

  test('the sandbox region needs an explicit issuer', () => {
    const { TESSERA_ISSUER: _, ...rest } = baseEnv;
    assert.deepEqual(problems({ ...rest, TESSERA_MOSAIC_REGION: 'sandbox' }), [
      'TESSERA_ISSUER: required with TESSERA_MOSAIC_REGION=sandbox (its issuer is not documented)',
    ]);
    const config = loadConfig({ ...baseEnv, TESSERA_MOSAIC_REGION: 'sandbox' });
    assert.equal(config.discoveryUrl, 'https://api.sbx.transmitsecurity.io/cis/oidc/.well-known/openid-configuration');
  });

  test('a bad configuration gives one line per problem, naming the key and the expected form', () => {
    const lines = problems({
      TESSERA_PORT: 'eighty',
      TESSERA_IDLE_TIMEOUT: 'soon',
      TESSERA_MOSAIC_REGION: 'mars',
      TESSERA_ALGORITHMS: 'HS256',
      TESSERA_SILENT_AUTH: 'maybe',
    });
    const byKey = (key: string) => lines.find((l) => l.startsWith(`${key}:`));
    assert.match(byKey('TESSERA_PORT') ?? '', /port number/);
    assert.match(byKey('TESSERA_IDLE_TIMEOUT') ?? '', /duration such as 90s, 30m/);
    assert.match(byKey('TESSERA_MOSAIC_REGION') ?? '', /us, eu, ca, au, sandbox/);
    assert.match(byKey('TESSERA_ALGORITHMS') ?? '', /RS256/);
    assert.ok(byKey('TESSERA_SILENT_AUTH'));
    assert.match(byKey('TESSERA_CLIENT_ID') ?? '', /required/);
    assert.match(byKey('TESSERA_CLIENT_SECRET') ?? '', /required/);
    assert.match(byKey('TESSERA_KEYS') ?? '', /required outside development/);
  });

  test('plain http is refused for non-loopback URLs', () => {
    const lines = problems({ ...baseEnv, TESSERA_ISSUER: 'http://idp.example.com', TESSERA_PUBLIC_URL: 'http://app.example.com' });
    assert.ok(lines.some((l) => l.startsWith('TESSERA_ISSUER: must be https')));
    assert.ok(lines.some((l) => l.startsWith('TESSERA_PUBLIC_URL: must be https')));
  });

  test('an https public URL switches to the __Host- secure cookie', () => {
    assert.equal(loadConfig({ ...baseEnv, TESSERA_PUBLIC_URL: 'https://app.example.com' }).secureCookies, true);
  });

  test('reads a JSON file with the same keys; the environment wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-config-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ ...baseEnv, TESSERA_PORT: 8080, TESSERA_SILENT_AUTH: false, TESSERA_SCOPES: ['openid', 'email'] }));
    const config = loadConfig({ TESSERA_PORT: '9090' }, file);
    assert.equal(config.port, 9090);
    assert.equal(config.silentAuth, false);
    assert.deepEqual(config.scopes, ['openid', 'email']);
  });

  test('an unknown key in the JSON file is named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-config-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ ...baseEnv, TESSERA_PROT: 1 }));
    assert.throws(() => loadConfig({}, file), /TESSERA_PROT: unknown setting/);
  });

  test('a config file that is not JSON is a clear error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-config-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, '{ not json');
    assert.throws(() => loadConfig({}, file), /--config .*config\.json/);
  });

  test('a bad TESSERA_STORE is reported together with the other problems, password masked', () => {
    const lines = problems({ ...baseEnv, TESSERA_PORT: 'x', TESSERA_STORE: 'mysql://root:topsecret@db/app' });
    assert.ok(lines.includes('TESSERA_PORT: expected a port number 0-65535'), lines.join('\n'));
    assert.ok(lines.includes('TESSERA_STORE: "mysql://root:****@db/app" is not valid: "mysql:" is not a known store. Expected one of:'), lines.join('\n'));
    assert.ok(lines.includes('redis-cluster://[user:password@]host1:port1,host2:port2,…[?prefix=app:]'), 'the accepted forms follow');
    assert.ok(!lines.join('\n').includes('topsecret'));
  });

  test('every accepted TESSERA_STORE form passes the settings check', () => {
    for (const store of ['memory:', 'sqlite:./sessions.db', 'redis://cache:6379/1?prefix=app:', 'redis-cluster://a:7000,b:7001', 'redis-sentinel://s1,s2/mymaster', 'postgres://u@db/app?table=s']) {
      assert.equal(loadConfig({ ...baseEnv, TESSERA_STORE: store }).store, store);
    }
  });

  test('describeConfig masks secrets and store passwords', () => {
    const described = describeConfig(loadConfig({ ...baseEnv, TESSERA_CLIENT_SECRET: 'super-secret-value', TESSERA_STORE: 'redis://user:pass@redis:6379' }));
    assert.equal(described.clientSecret, 'su****ue');
    assert.equal(described.store, 'redis://user:****@redis:6379');
    assert.ok(!JSON.stringify(described).includes(Buffer.alloc(32, 1).toString('base64url')));
  });
});
