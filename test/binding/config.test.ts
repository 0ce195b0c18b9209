import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { baseEnv, problems } from '../helpers/config.js';

test('the new settings have their defaults: silent SSO on, cookie tessera, binding off on the user agent', () => {
  const config = loadConfig(baseEnv);
  assert.equal(config.silentSso, true);
  assert.equal(config.cookieName, 'tessera');
  assert.equal(config.sessionBinding, 'off');
  assert.deepEqual(config.sessionBindingSignals, ['user-agent']);
});

test('TESSERA_SESSION_BINDING_SIGNALS takes both signals, space- or comma-separated', () => {
  const config = loadConfig({ ...baseEnv, TESSERA_SESSION_BINDING: 'revoke', TESSERA_SESSION_BINDING_SIGNALS: 'user-agent, ip-prefix', TESSERA_SILENT_SSO: 'false', TESSERA_COOKIE_NAME: 'app-b' });
  assert.equal(config.sessionBinding, 'revoke');
  assert.deepEqual(config.sessionBindingSignals, ['user-agent', 'ip-prefix']);
  assert.equal(config.silentSso, false);
  assert.equal(config.cookieName, 'app-b');
});

test('bad values are refused at start, one line per key, naming what is expected', () => {
  const lines = problems({ ...baseEnv, TESSERA_SESSION_BINDING: 'maybe', TESSERA_SESSION_BINDING_SIGNALS: 'mac-address', TESSERA_SILENT_SSO: 'sometimes', TESSERA_COOKIE_NAME: 'my cookie' });
  assert.ok(lines.some((l) => l.startsWith('TESSERA_SESSION_BINDING: expected off, log or revoke')), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('TESSERA_SESSION_BINDING_SIGNALS:') && l.includes('user-agent')), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('TESSERA_SILENT_SSO: expected true or false')), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('TESSERA_COOKIE_NAME: expected 1 to 64 letters')), lines.join('\n'));
  for (const name of ['__Host-x', '__secure-x', 'a;b', 'x'.repeat(65)]) {
    assert.ok(problems({ ...baseEnv, TESSERA_COOKIE_NAME: name }).some((l) => l.startsWith('TESSERA_COOKIE_NAME:')), name);
  }
});

test('with an https public URL the cookie is __Host-<name>', async () => {
  const { createTessera } = await import('../../src/tessera.js');
  const tessera = createTessera({ ...{ issuer: 'https://idp.example.com', clientId: 'c', clientSecret: 's', development: true, store: 'memory:', logLevel: 'silent' }, publicUrl: 'https://app.example.com', cookieName: 'app-b' });
  try {
    assert.equal(tessera.cookieName, '__Host-app-b');
  } finally {
    await tessera.close();
  }
});
