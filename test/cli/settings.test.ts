/**
 * Every command reads its settings through the one loader: `--config` file, environment, flags
 * (flags win over the environment, the environment over the file), every problem at once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { openStore } from '../../src/stores/index.js';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { randomKey, sampleRecord } from '../stores/conformance.js';

const entry = fileURLToPath(new URL('../helpers/cli-entry.ts', import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href; // the child runs in a temporary folder

/** Starts `tessera dev-idp …`, waits for its banner, stops it; resolves to what it printed. */
async function runDevIdp(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ output: string; started: boolean }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TESSERA_')));
  const child = spawn(process.execPath, ['--import', tsx, entry, 'dev-idp', ...args], {
    cwd,
    env: { ...clean, TESSERA_LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  for (let i = 0; i < 200 && !/ {2}state {9}\S/.test(output) && child.exitCode === null; i++) await sleep(50);
  const started = / {2}state {9}\S/.test(output);
  if (child.exitCode === null) child.kill('SIGTERM');
  await Promise.race([exited, sleep(5000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
  return { output, started };
}

describe('tessera dev-idp settings', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'tessera-cli-settings-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  test('honours TESSERA_DATA_DIR and TESSERA_DEV_IDP_PORT', async () => {
    const dataDir = join(dir, 'from-env');
    const port = await freePort();
    const { output, started } = await runDevIdp([], { TESSERA_DATA_DIR: dataDir, TESSERA_DEV_IDP_PORT: String(port) }, dir);
    assert.ok(started, output);
    assert.match(output, new RegExp(`issuer +http://localhost:${port}\\b`));
    assert.ok(existsSync(join(dataDir, 'dev-idp', 'keys.json')), `no keys under TESSERA_DATA_DIR:\n${output}`);
    assert.ok(!existsSync(join(dir, '.tessera')), 'the default data dir was used');
  });

  test('flags win over the environment', async () => {
    const [envPort, flagPort] = [await freePort(), await freePort()];
    const fromEnv = join(dir, 'env-loses');
    const fromFlag = join(dir, 'flag-wins');
    const { output, started } = await runDevIdp(['--data-dir', fromFlag, '--port', String(flagPort)], {
      TESSERA_DATA_DIR: fromEnv, TESSERA_DEV_IDP_PORT: String(envPort),
    }, dir);
    assert.ok(started, output);
    assert.match(output, new RegExp(`issuer +http://localhost:${flagPort}\\b`));
    assert.ok(existsSync(join(fromFlag, 'dev-idp', 'keys.json')));
    assert.ok(!existsSync(fromEnv));
  });

  test('reads its settings from --config, and the environment wins over the file', async () => {
    const file = join(dir, 'dev-idp.json');
    const fromFile = join(dir, 'from-file');
    const port = await freePort();
    await writeFile(file, JSON.stringify({ TESSERA_DATA_DIR: fromFile, TESSERA_DEV_IDP_PORT: 1, TESSERA_CLIENT_ID: 'ignored-here' }));
    const { output, started } = await runDevIdp(['--config', file], { TESSERA_DEV_IDP_PORT: String(port) }, dir);
    assert.ok(started, output);
    assert.match(output, new RegExp(`issuer +http://localhost:${port}\\b`));
    assert.ok(existsSync(join(fromFile, 'dev-idp', 'keys.json')));
  });

  test('a bad flag is a usage error (exit 2) naming the flag', async () => {
    const { code, stderr } = await runCli(['dev-idp', '--port', '99999'], { TESSERA_DATA_DIR: join(dir, 'never') });
    assert.equal(code, 2);
    assert.match(stderr, /--port: expected a port number 0-65535/);
    assert.ok(!existsSync(join(dir, 'never')));
  });

  test('bad settings are reported together, one line per key, exit 1', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ TESSERA_DEV_IDP_PROT: 4000 }));
    const { code, stderr } = await runCli(['dev-idp', '--config', file], {
      TESSERA_DEV_IDP_PORT: 'x', TESSERA_DEV_IDP_ACCESS_TOKEN_TTL: '0',
    });
    assert.equal(code, 1);
    assert.match(stderr, /^Invalid configuration:$/m);
    assert.match(stderr, /^ {2}TESSERA_DEV_IDP_PROT: unknown setting$/m);
    assert.match(stderr, /^ {2}TESSERA_DEV_IDP_PORT: expected a port number 0-65535$/m);
    assert.match(stderr, /^ {2}TESSERA_DEV_IDP_ACCESS_TOKEN_TTL: expected a whole number of seconds/m);
  });
});

describe('tessera sessions and store migrate read --config', () => {
  let dir: string;
  let dbPath: string;
  const sub = `user-${randomKey().slice(0, 8)}`;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-cli-sessions-'));
    dbPath = join(dir, 'sessions.db');
    const store = openStore(`sqlite:${dbPath}`);
    try {
      await store.set(randomKey(), sampleRecord({ sub }), 3_600_000);
      await store.set(randomKey(), sampleRecord({ sub }), 3_600_000);
    } finally {
      await store.close();
    }
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  /** A whole configuration file, as `tessera serve --config` takes it. */
  async function configFile(store: string): Promise<string> {
    const file = join(dir, `config-${randomKey().slice(0, 6)}.json`);
    await writeFile(file, JSON.stringify({
      TESSERA_ISSUER: 'https://idp.example.com',
      TESSERA_CLIENT_ID: 'app',
      TESSERA_CLIENT_SECRET: 'a-client-secret',
      TESSERA_KEYS: 'k1:' + Buffer.alloc(32, 7).toString('base64url'),
      TESSERA_STORE: store,
    }));
    return file;
  }

  test('sessions list uses the store the file names', async () => {
    const file = await configFile(`sqlite:${dbPath}`);
    const { code, stdout, stderr } = await runCli(['sessions', 'list', '--sub', sub, '--config', file], {}, 20_000);
    assert.equal(code, 0, stderr);
    assert.match(stdout, new RegExp(`2 session\\(s\\) for ${sub}`));
  });

  test('TESSERA_STORE in the environment wins over the file', async () => {
    const file = await configFile(`sqlite:${dbPath}`);
    const { code, stdout, stderr } = await runCli(['sessions', 'list', '--sub', sub, '--config', file], { TESSERA_STORE: 'memory:' });
    assert.equal(code, 0, stderr);
    assert.match(stdout, new RegExp(`0 session\\(s\\) for ${sub}`));
  });

  test('sessions revoke uses the store the file names', async () => {
    const file = await configFile(`sqlite:${dbPath}`);
    const revoked = await runCli(['sessions', 'revoke', '--sub', sub, '--config', file]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, new RegExp(`revoked 2 session\\(s\\) for ${sub}`));
    const listed = await runCli(['sessions', 'list', '--sub', sub, '--config', file]);
    assert.match(listed.stdout, new RegExp(`0 session\\(s\\) for ${sub}`));
  });

  test('a missing --config file and a missing --sub are reported together, exit 2', async () => {
    const missing = join(dir, 'nope.json');
    const { code, stderr } = await runCli(['sessions', 'list', '--sub', sub, '--config', missing]);
    assert.equal(code, 1);
    assert.match(stderr, new RegExp(`--config ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ENOENT`));
    const withoutSub = await runCli(['sessions', 'list', '--config', missing]);
    assert.equal(withoutSub.code, 2);
    assert.match(withoutSub.stderr, /^--sub: required/m);
    assert.match(withoutSub.stderr, /: ENOENT/);
    const file = join(dir, 'typo.json');
    await writeFile(file, JSON.stringify({ TESSERA_STOR: 'memory:' }));
    const both = await runCli(['sessions', 'list', '--config', file]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /^--sub: required/m);
    assert.match(both.stderr, /^TESSERA_STOR: unknown setting$/m);
  });

  test('store migrate creates the store the file names', async () => {
    const path = join(dir, 'migrated', 'sessions.db');
    const file = await configFile(`sqlite:${path}`);
    const { code, stdout, stderr } = await runCli(['store', 'migrate', '--config', file]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /store ready: sqlite:/);
    assert.ok(existsSync(path));
  });
});
