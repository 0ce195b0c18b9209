import type * as Pg from 'pg';
import { silentLogger, type Logger } from '../observability/log.js';
import { loadDriver } from './driver.js';
import { closedError, guard } from './errors.js';
import { decodeInvalidation, encodeInvalidation, InvalidationListeners } from './invalidation.js';
import { withArgumentChecks } from './record.js';
import { rowsToListing, rowToRecord, rowToTokens, rowValues, sharedStatements, startSweeper, type SessionRow, type TokensRow } from './sql.js';
import type { SessionStore } from './types.js';

export interface PostgresStoreOptions {
  connectionString: string;
  /** Table name, optionally schema-qualified (`schema.table`). Default `tessera_sessions`; markers go to `<table>_once`, sealed tokens to `<table>_tokens`. */
  table?: string;
  /** How often expired rows are deleted (they are ignored on read regardless). Default 60 s. */
  sweepIntervalMs?: number;
  /** Pool size. Default 10. */
  max?: number;
  /** Where connection problems and unreadable records are logged; default nowhere (Tessera passes its own). */
  logger?: Logger;
}

export interface PostgresSessionStore extends SessionStore {
  /**
   * Creates the tables and indexes when missing (also the tokens table on a database from before
   * the tokens moved out). Idempotent and safe to run concurrently.
   */
  migrate(): Promise<void>;
}

const identifier = /^[A-Za-z_][A-Za-z0-9_]{0,42}$/;

function quote(name: string): string {
  return `"${name}"`;
}

/**
 * Sessions in PostgreSQL, for teams that already run it. The schema (the table layout of
 * `sql.ts`) is created on first use or by `migrate()`.
 */
export function postgresStore(options: PostgresStoreOptions): PostgresSessionStore {
  const name = 'postgres';
  const logger = options?.logger ?? silentLogger;
  if (typeof options?.connectionString !== 'string' || options.connectionString.length === 0) {
    throw new TypeError('"connectionString" must be a non-empty string');
  }
  const tableOption = options.table ?? 'tessera_sessions';
  const parts = tableOption.split('.');
  if (parts.length > 2 || !parts.every((part) => identifier.test(part))) {
    throw new TypeError('"table" must be a plain SQL identifier (letters, digits, _), optionally schema-qualified');
  }
  const base = parts[parts.length - 1] as string;
  const schemaPrefix = parts.length === 2 ? `${quote(parts[0] as string)}.` : '';
  const table = schemaPrefix + quote(base);
  const onceTable = schemaPrefix + quote(`${base}_once`);
  const tokensTable = schemaPrefix + quote(`${base}_tokens`);
  const channel = `${base}_invalidate`;

  const pg = loadDriver<typeof Pg>('pg', 'PostgreSQL');
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    connectionTimeoutMillis: 2000,
    query_timeout: 3000,
    idleTimeoutMillis: 30_000,
    max: options.max ?? 10,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', (err) => logger.warn({ store: name, error: err.message }, 'session store connection lost'));

  const migrate = async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      // Concurrent first use (several instances starting at once) waits here instead of racing
      // CREATE … IF NOT EXISTS, which is not safe under concurrency in PostgreSQL.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tessera:migrate:${tableOption}`]);
      await client.query(`
        CREATE TABLE IF NOT EXISTS ${table} (
          key text PRIMARY KEY,
          sub text NOT NULL,
          sid text,
          last_seen_at bigint NOT NULL,
          idle_expires_at bigint NOT NULL,
          absolute_expires_at bigint NOT NULL,
          expires_at bigint NOT NULL,
          record text NOT NULL
        )`);
      await client.query(`CREATE INDEX IF NOT EXISTS ${quote(`${base}_sub`)} ON ${table} (sub)`);
      await client.query(`CREATE INDEX IF NOT EXISTS ${quote(`${base}_sid`)} ON ${table} (sid) WHERE sid IS NOT NULL`);
      await client.query(`CREATE INDEX IF NOT EXISTS ${quote(`${base}_expires_at`)} ON ${table} (expires_at)`);
      await client.query(`
        CREATE TABLE IF NOT EXISTS ${tokensTable} (
          key text PRIMARY KEY REFERENCES ${table} (key) ON DELETE CASCADE,
          sealed_tokens text NOT NULL
        )`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${onceTable} (key text PRIMARY KEY, expires_at bigint NOT NULL)`);
      await client.query(`CREATE INDEX IF NOT EXISTS ${quote(`${base}_once_expires_at`)} ON ${onceTable} (expires_at)`);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  };

  let schemaReady: Promise<void> | undefined;
  const ensureSchema = () =>
    (schemaReady ??= migrate().catch((err: unknown) => {
      schemaReady = undefined; // try again on the next call
      throw err;
    }));

  let closed = false;
  const run = <T>(operation: string, fn: () => Promise<T>): Promise<T> =>
    guard(name, operation, async () => {
      if (closed) throw closedError(name);
      await ensureSchema();
      return fn();
    });
  const query = <R extends Pg.QueryResultRow>(text: string, values: unknown[]) => pool.query<R>(text, values);
  const shared = sharedStatements(table, onceTable, tokensTable, (n) => `$${n}`);
  // The row and its tokens in one statement (so one transaction); the foreign key is checked at its end.
  const upsertBoth = `WITH session AS (${shared.upsert} RETURNING key)
    INSERT INTO ${tokensTable} (key, sealed_tokens) SELECT key, $9 FROM session
    ON CONFLICT (key) DO UPDATE SET sealed_tokens = excluded.sealed_tokens`;

  /** Deletes the rows where `column` = `value`; announces their keys; returns how many were live. */
  const deleteWhere = async (column: 'key' | 'sub' | 'sid', value: string): Promise<number> => {
    const result = await query<{ n: string; keys: string[] | null }>(
      `WITH gone AS (DELETE FROM ${table} WHERE ${column} = $1 RETURNING key, expires_at)
       SELECT count(*) FILTER (WHERE expires_at > $2) AS n, array_agg(key) AS keys FROM gone`,
      [value, Date.now()],
    );
    const row = result.rows[0];
    await announce(row?.keys ?? []);
    return Number(row?.n ?? 0);
  };

  // Invalidation messages for in-process caches of other instances: NOTIFY after deletes, and a
  // dedicated LISTEN connection opened only once someone listens. NOTIFY payloads are limited to
  // 8000 bytes, so long key lists go out in several messages.
  const announce = async (keys: string[]) => {
    for (const message of encodeInvalidation(keys, 7000)) {
      try {
        await query('SELECT pg_notify($1, $2)', [channel, message]);
      } catch (err) {
        logger.warn({ store: name, error: String(err) }, 'session invalidation not sent');
      }
    }
  };
  const listeners = new InvalidationListeners(logger);
  const notify = (key: string | undefined) => listeners.notify(key);
  let listening: Pg.Client | undefined;
  let listenAttempts = 0;
  let listenTimer: ReturnType<typeof setTimeout> | undefined;
  const listen = async (): Promise<void> => {
    listenTimer = undefined;
    if (closed) return;
    const client = new pg.Client({ connectionString: options.connectionString, connectionTimeoutMillis: 2000 });
    let lost = false;
    const reconnect = () => {
      if (lost || closed) return;
      lost = true;
      listening = undefined;
      client.end().catch(() => undefined);
      listenAttempts++;
      listenTimer = setTimeout(() => void listen(), Math.min(listenAttempts * 200, 2000));
      listenTimer.unref();
    };
    client.on('error', reconnect);
    client.on('end', reconnect);
    client.on('notification', (message) => {
      if (message.channel !== channel || message.payload === undefined) return;
      for (const key of decodeInvalidation(message.payload)) notify(key);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${quote(channel)}`);
    } catch {
      reconnect();
      return;
    }
    if (closed) {
      await client.end().catch(() => undefined);
      return;
    }
    listening = client;
    // Deletes may have happened while not listening: every cached session is suspect.
    if (listenAttempts > 0) notify(undefined);
    listenAttempts = 0;
  };

  const stopSweeper = startSweeper(name, logger, options.sweepIntervalMs, async () => {
    if (closed || schemaReady === undefined) return;
    const now = Date.now();
    await query(shared.sweepSessions, [now]);
    await query(shared.sweepOnce, [now]);
  });

  return withArgumentChecks<PostgresSessionStore>({
    migrate: () => guard(name, 'migrate', ensureSchema),
    get(key) {
      return run('get', async () => {
        const row = (await query<SessionRow>(shared.get, [key, Date.now()])).rows[0];
        return row === undefined ? undefined : rowToRecord(row, name, logger);
      });
    },
    getTokens(key) {
      return run('getTokens', async () => rowToTokens((await query<TokensRow>(shared.getTokens, [key, Date.now()])).rows[0]));
    },
    async set(key, record, ttlMs) {
      await run('set', () => query(upsertBoth, [...rowValues(key, record, ttlMs, Date.now()), record.sealedTokens]));
    },
    async touch(key, lastSeenAt, idleExpiresAt, ttlMs) {
      await run('touch', async () => {
        const now = Date.now();
        await query(
          `UPDATE ${table} SET last_seen_at = $2, idle_expires_at = $3, expires_at = LEAST($4::bigint, $3::bigint, absolute_expires_at)
           WHERE key = $1 AND expires_at > $5`,
          [key, lastSeenAt, idleExpiresAt, now + Math.floor(ttlMs), now],
        );
      });
    },
    delete(key) {
      return run('delete', async () => (await deleteWhere('key', key)) === 1);
    },
    deleteByUser(sub) {
      return run('deleteByUser', () => deleteWhere('sub', sub));
    },
    deleteBySid(sid) {
      return run('deleteBySid', () => deleteWhere('sid', sid));
    },
    listByUser(sub) {
      return run('listByUser', async () => {
        const result = await query<SessionRow>(shared.listByUser, [sub, Date.now()]);
        return rowsToListing(result.rows, name, logger);
      });
    },
    async putOnce(key, ttlMs) {
      return run('putOnce', async () => {
        const now = Date.now();
        const result = await query(
          `INSERT INTO ${onceTable} AS o (key, expires_at) VALUES ($1, $2)
           ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE o.expires_at <= $3`,
          [key, now + Math.floor(ttlMs), now],
        );
        return result.rowCount === 1;
      });
    },
    onInvalidate(listener) {
      if (listeners.add(listener) === 1) void listen();
    },
    async ping() {
      await guard(name, 'ping', async () => {
        if (closed) throw closedError(name);
        await pool.query('SELECT 1');
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      stopSweeper();
      if (listenTimer !== undefined) clearTimeout(listenTimer);
      await listening?.end().catch(() => undefined);
      await pool.end();
    },
  });
}
