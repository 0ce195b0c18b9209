import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { isTesseraError } from '../../src/errors.js';
import { postgresStore } from '../../src/stores/postgres.js';
import { postgresSkip, postgresUrl } from '../helpers/postgres.js';
import { freePort } from '../helpers/redis-server.js';
import { assertLegacySessionReads, legacyRecordJson, randomKey, sampleRecord, testStore } from './conformance.js';

const connectionString = postgresUrl;
const table = `tessera_test_${randomBytes(6).toString('hex')}`;
const tables: string[] = [];
const skip = await postgresSkip();

function open(name: string, options: { sweepIntervalMs?: number } = {}) {
  tables.push(name);
  return postgresStore({ connectionString, table: name, ...options });
}

after(async () => {
  if (skip !== false) return;
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    for (const name of new Set(tables)) await client.query(`DROP TABLE IF EXISTS "${name}_tokens", "${name}", "${name}_once"`);
  } finally {
    await client.end();
  }
});

testStore('postgres', async () => (skip === false ? open(table) : { skip }), { sharedBackend: true });

describe('postgres store schema and outages', { skip }, () => {
  it('creates its schema once even when several instances start at the same moment', async () => {
    const name = `${table}_race`;
    const stores = Array.from({ length: 6 }, () => open(name));
    try {
      const key = randomKey();
      await Promise.all(stores.map((store, i) => (i === 0 ? store.set(key, sampleRecord(), 60_000) : store.migrate())));
      await Promise.all(stores.map((store) => store.migrate()));
      assert.ok(await stores[5]?.get(key));
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it('sweeps expired rows on its timer', async () => {
    const name = `${table}_sweep`;
    const store = open(name, { sweepIntervalMs: 50 });
    const client = new pg.Client({ connectionString });
    await client.connect();
    try {
      await store.set(randomKey(), sampleRecord(), 100);
      await store.putOnce('jti:sweep', 100);
      const count = async () =>
        Number((await client.query<{ n: string }>(`SELECT (SELECT count(*) FROM "${name}") + (SELECT count(*) FROM "${name}_once") + (SELECT count(*) FROM "${name}_tokens") AS n`)).rows[0]?.n);
      assert.equal(await count(), 3, 'a session row, its tokens row and a marker');
      const deadline = Date.now() + 3000;
      while ((await count()) !== 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(await count(), 0);
    } finally {
      await client.end();
      await store.close();
    }
  });

  it('upgrades a table written before the tokens moved out: migrate adds the tokens table, old rows keep their tokens', async () => {
    const name = `${table}_legacy`;
    tables.push(name);
    const client = new pg.Client({ connectionString });
    await client.connect();
    const key = randomKey();
    const record = sampleRecord();
    try {
      await client.query(`CREATE TABLE "${name}" (key text PRIMARY KEY, sub text NOT NULL, sid text, last_seen_at bigint NOT NULL,
        idle_expires_at bigint NOT NULL, absolute_expires_at bigint NOT NULL, expires_at bigint NOT NULL, record text NOT NULL)`);
      const json = legacyRecordJson(record);
      await client.query(`INSERT INTO "${name}" VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [key, record.sub, record.sid, record.lastSeenAt, record.idleExpiresAt, record.absoluteExpiresAt, record.idleExpiresAt, json]);
    } finally {
      await client.end();
    }
    const store = open(name);
    try {
      await store.migrate();
      await assertLegacySessionReads(store, key, record);
    } finally {
      await store.close();
    }
  });

  it('answers ERR_STORE_UNAVAILABLE (503) when no server listens', async () => {
    const store = postgresStore({ connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/test` });
    try {
      await assert.rejects(store.get(randomKey()), (err) => isTesseraError(err, 'ERR_STORE_UNAVAILABLE') && err.status === 503);
      await assert.rejects(store.ping(), (err) => isTesseraError(err, 'ERR_STORE_UNAVAILABLE'));
    } finally {
      await store.close();
    }
  });

  it('rejects a table name that is not a plain identifier', () => {
    assert.throws(() => postgresStore({ connectionString, table: 'x; DROP TABLE y' }), TypeError);
  });
});
