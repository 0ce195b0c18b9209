import pg from 'pg';
import { skipOrFail } from './redis-server.js';

/** The PostgreSQL the tests use: TESSERA_TEST_POSTGRES_URL, else the local service's `test` database. */
export const postgresUrl = process.env.TESSERA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * `false` when PostgreSQL answers; otherwise the reason to skip (printed). Under CI an
 * unreachable PostgreSQL is a failure, not a skip.
 */
export async function postgresSkip(): Promise<string | false> {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return false;
  } catch (err) {
    return skipOrFail(`PostgreSQL at ${postgresUrl.replace(/:[^:@/]*@/, ':****@')} is unreachable (${String(err)})`).skip;
  } finally {
    await client.end().catch(() => undefined);
  }
}
