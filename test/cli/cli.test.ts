import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runCli } from '../helpers/cli.js';

const validEnv = {
  TESSERA_ISSUER: 'https://idp.example.com',
  TESSERA_CLIENT_ID: 'app',
  TESSERA_CLIENT_SECRET: 'a-client-secret',
  TESSERA_KEYS: 'k1:' + Buffer.alloc(32, 7).toString('base64url'),
};

describe('tessera CLI', () => {
  test('--help lists every command and exits 0', async () => {
    const { code, stdout } = await runCli(['--help']);
    assert.equal(code, 0);
    for (const name of ['serve', 'dev', 'dev-idp', 'sessions', 'keys', 'check-config']) assert.match(stdout, new RegExp(`\\n  ${name} `));
  });

  test('no command prints the overview and exits 2', async () => {
    const { code, stdout } = await runCli([]);
    assert.equal(code, 2);
    assert.match(stdout, /Usage: tessera <command>/);
  });

  test('an unknown command says what is valid and exits 2', async () => {
    const { code, stderr } = await runCli(['frobnicate']);
    assert.equal(code, 2);
    assert.match(stderr, /Unknown command "frobnicate"/);
    assert.match(stderr, /serve/);
  });

  test('an unknown flag names the flag, shows the command usage and exits 2', async () => {
    const { code, stderr } = await runCli(['check-config', '--bogus']);
    assert.equal(code, 2);
    assert.match(stderr, /--bogus/);
    assert.match(stderr, /Usage: tessera check-config/);
  });

  test('each command has --help', async () => {
    for (const name of ['serve', 'dev', 'dev-idp', 'sessions', 'keys', 'check-config']) {
      const { code, stdout } = await runCli([name, '--help']);
      assert.equal(code, 0, name);
      assert.match(stdout, new RegExp(`Usage: tessera ${name}`));
    }
  });

  test('keys generate prints one TESSERA_KEYS line with a 32-byte key', async () => {
    const { code, stdout } = await runCli(['keys', 'generate']);
    assert.equal(code, 0);
    const match = /^TESSERA_KEYS=([A-Za-z0-9_-]+):([A-Za-z0-9_-]+)\n$/.exec(stdout);
    assert.ok(match, stdout);
    assert.equal(Buffer.from(match[2]!, 'base64url').length, 32);
    const again = await runCli(['keys', 'generate']);
    assert.notEqual(again.stdout, stdout);
  });

  test('check-config prints the resolved configuration with secrets masked', async () => {
    const { code, stdout } = await runCli(['check-config'], validEnv);
    assert.equal(code, 0);
    assert.match(stdout, /"clientId": "app"/);
    assert.match(stdout, /configuration ok/);
    assert.ok(!stdout.includes('a-client-secret'));
    assert.ok(!stdout.includes(Buffer.alloc(32, 7).toString('base64url')));
  });

  test('check-config with a bad configuration prints one line per problem and exits 1', async () => {
    const { code, stderr } = await runCli(['check-config'], { TESSERA_PORT: 'x', TESSERA_CLIENT_ID: 'app' });
    assert.equal(code, 1);
    assert.match(stderr, /TESSERA_PORT: expected a port number/);
    assert.match(stderr, /TESSERA_CLIENT_SECRET: required/);
    assert.match(stderr, /TESSERA_ISSUER: required/);
  });

  test('serve without an upstream is refused with the key named', async () => {
    const { code, stderr } = await runCli(['serve'], validEnv);
    assert.equal(code, 2);
    assert.match(stderr, /TESSERA_UPSTREAM: required/);
  });

  test('sessions without --sub says what is missing', async () => {
    const { code, stderr } = await runCli(['sessions', 'list'], { TESSERA_STORE: 'memory:' });
    assert.equal(code, 2);
    assert.match(stderr, /--sub: required/);
  });
});
