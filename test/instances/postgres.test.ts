import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { migrateStore } from '../../src/stores/index.js';
import { postgresSkip, postgresUrl } from '../helpers/postgres.js';
import { startStack, type Stack } from '../helpers/stack.js';

const connectionString = postgresUrl;
const table = `tessera_gw_${randomBytes(6).toString('hex')}`;
const skip = await postgresSkip();

describe('the gateway with PostgreSQL as its store', { skip }, () => {
  let stack: Stack;
  let client: pg.Client;

  before(async () => {
    const url = new URL(connectionString);
    url.searchParams.set('table', table);
    await migrateStore(url.href); // as `tessera store migrate` before the first start (the store would also do it lazily)
    stack = await startStack({ options: { store: url.href } });
    client = new pg.Client({ connectionString });
    await client.connect();
  });

  after(async () => {
    await stack?.close();
    if (client === undefined) return;
    await client.query(`DROP TABLE IF EXISTS "${table}_tokens", "${table}", "${table}_once"`);
    await client.end();
  });

  const rowsOf = async (sub: string) => (await client.query(`SELECT key FROM "${table}" WHERE sub = $1`, [sub])).rowCount;

  test('a full sign-in and sign-out: the session is a row in the table TESSERA_STORE names, and is gone after logout', async () => {
    assert.equal(await rowsOf('alice'), 0);
    const browser = stack.browser();
    const page = await stack.login(browser, { returnTo: '/hello' });
    assert.equal(page.status, 200);
    assert.equal((JSON.parse(page.text) as { headers: Record<string, string> }).headers['x-tessera-sub'], 'alice');
    assert.equal(await rowsOf('alice'), 1);
    const id = stack.sessionCookie(browser)!;
    const row = await client.query<{ key: string; record: string }>(`SELECT key, record FROM "${table}"`);
    assert.ok(row.rows.every((r) => r.key !== id && !r.record.includes(id)), 'only the hash of the session id is stored');

    const logout = await browser.request(`${stack.url}/auth/logout`, { method: 'POST', headers: { origin: stack.url } });
    assert.equal(logout.status, 303);
    assert.equal(await rowsOf('alice'), 0);
    const afterLogout = await fetch(`${stack.url}/hello`, { headers: { cookie: `tessera=${id}`, accept: 'application/json' } });
    assert.equal(afterLogout.status, 401);
  });
});
