import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { openStore } from '../../src/stores/index.js';
import { runCli } from '../helpers/cli.js';
import { postgresSkip, postgresUrl } from '../helpers/postgres.js';
import { freePort } from '../helpers/redis-server.js';
import { hot, randomKey, sampleRecord } from '../stores/conformance.js';

const connectionString = postgresUrl;
const table = `tessera_cli_${randomBytes(6).toString('hex')}`;
const skip = await postgresSkip();

/** The connection string with the password set (trust authentication ignores it) and `?table=`. */
function storeUrl(password?: string): string {
  const url = new URL(connectionString);
  if (password !== undefined) url.password = password;
  url.searchParams.set('table', table);
  return url.href;
}

async function relations(client: pg.Client): Promise<string[]> {
  const result = await client.query<{ relname: string }>(
    "SELECT relname FROM pg_class WHERE relname LIKE $1 AND relkind IN ('r', 'i') ORDER BY relname",
    [`${table}%`],
  );
  return result.rows.map((row) => row.relname);
}

describe('tessera store migrate', () => {
  test('--help explains the command, and anything but "migrate" is a usage error', async () => {
    const help = await runCli(['store', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: tessera store migrate/);
    assert.match((await runCli(['--help'])).stdout, /\n {2}store +store migrate: create what the store/);
    const wrong = await runCli(['store', 'drop'], { TESSERA_STORE: 'memory:' });
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /expected: tessera store migrate/);
  });

  test('a malformed TESSERA_STORE is refused with the accepted forms and exit code 1', async () => {
    const { code, stderr } = await runCli(['store', 'migrate'], { TESSERA_STORE: 'mysql://root:topsecret@db/app' });
    assert.equal(code, 1);
    assert.match(stderr, /TESSERA_STORE:? "mysql:\/\/root:\*\*\*\*@db\/app" is not valid: "mysql:" is not a known store/);
    assert.match(stderr, /postgres:\/\/user:password@host\[:port\]\/database\[\?table=name\]/);
    assert.ok(!stderr.includes('topsecret'));
  });

  test('check-config refuses a malformed TESSERA_STORE instead of saying "configuration ok"', async () => {
    const { code, stdout, stderr } = await runCli(['check-config'], {
      TESSERA_ISSUER: 'https://idp.example.com',
      TESSERA_CLIENT_ID: 'app',
      TESSERA_CLIENT_SECRET: 'a-client-secret',
      TESSERA_KEYS: 'k1:' + Buffer.alloc(32, 7).toString('base64url'),
      TESSERA_STORE: 'redis-cluster://node-a:7000/3',
    });
    assert.equal(code, 1);
    assert.match(stderr, /TESSERA_STORE:? "redis-cluster:\/\/node-a:7000\/3" is not valid: a cluster URL takes no path/);
    assert.doesNotMatch(stdout, /configuration ok/);
  });

  test('an unreachable PostgreSQL fails with exit code 1 and says the store is unavailable', async () => {
    const port = await freePort();
    const { code, stderr } = await runCli(['store', 'migrate'], { TESSERA_STORE: `postgres://postgres:topsecret@127.0.0.1:${port}/test` });
    assert.equal(code, 1);
    assert.match(stderr, /session store \(postgres\) unavailable during migrate/);
    assert.ok(!stderr.includes('topsecret'));
  });

  describe('with SQLite', () => {
    let dir: string;
    before(async () => { dir = await mkdtemp(join(tmpdir(), 'tessera-cli-store-')); });
    after(async () => { await rm(dir, { recursive: true, force: true }); });

    test('creates the database file, folders included', async () => {
      const path = join(dir, 'nested', 'sessions.db');
      const { code, stdout } = await runCli(['store', 'migrate'], { TESSERA_STORE: `sqlite:${path}` });
      assert.equal(code, 0, stdout);
      assert.match(stdout, new RegExp(`store ready: sqlite:${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
      assert.ok(existsSync(path));
    });
  });

  describe('with PostgreSQL', { skip }, () => {
    let client: pg.Client;
    before(async () => {
      client = new pg.Client({ connectionString });
      await client.connect();
    });
    after(async () => {
      await client.query(`DROP TABLE IF EXISTS "${table}_tokens", "${table}", "${table}_once"`);
      await client.end();
    });

    test('creates the session table, its tokens and marker tables and their indexes in the table the URL names; the password stays masked', async () => {
      assert.deepEqual(await relations(client), [], 'nothing there before');
      const { code, stdout, stderr } = await runCli(['store', 'migrate'], { TESSERA_STORE: storeUrl('topsecret') });
      assert.equal(code, 0, stderr);
      assert.match(stdout, /store ready: postgres:\/\/postgres:\*\*\*\*@/);
      assert.ok(!stdout.includes('topsecret') && !stderr.includes('topsecret'));
      assert.deepEqual(await relations(client), [
        table, `${table}_expires_at`, `${table}_once`, `${table}_once_expires_at`, `${table}_once_pkey`, `${table}_pkey`, `${table}_sid`, `${table}_sub`,
        `${table}_tokens`, `${table}_tokens_pkey`,
      ].sort());
    });

    test('is idempotent, and keeps the sessions already stored', async () => {
      const store = openStore(storeUrl());
      const key = randomKey();
      const record = sampleRecord();
      try {
        await store.set(key, record, 60_000);
        const again = await runCli(['store', 'migrate'], { TESSERA_STORE: storeUrl() });
        assert.equal(again.code, 0, again.stderr);
        assert.deepEqual(await store.get(key), hot(record));
        assert.equal(await store.getTokens(key), record.sealedTokens);
      } finally {
        await store.close();
      }
    });
  });
});
