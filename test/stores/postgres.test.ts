import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { isTesseraError } from '../../src/errors.js';
import { postgresStore } from '../../src/stores/postgres.js';
import { postgresSkip, postgresUrl } from '../helpers/postgres.js';
import { freePort } from '../helpers/redis-server.js';
import { randomKey, sampleRecord, testStore } from './conformance.js';

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
  for (const name of new Set(tables)) await client.query(`DROP TABLE IF EXISTS "${name}", "${name}_once"`);
  await client.end();
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
        Number((await client.query<{ n: string }>(`SELECT (SELECT count(*) FROM "${name}") + (SELECT count(*) FROM "${name}_once") AS n`)).rows[0]?.n);
      assert.equal(await count(), 2);
      const deadline = Date.now() + 3000;
      while ((await count()) !== 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(await count(), 0);
    } finally {
      await client.end();
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
