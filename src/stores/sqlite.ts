import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { silentLogger, type Logger } from '../observability/log.js';
import { loadDriver } from './driver.js';
import { closedError, guard, storeUnavailable } from './errors.js';
import { withArgumentChecks } from './record.js';
import { rowsToListing, rowToRecord, rowToTokens, rowValues, sharedStatements, startSweeper, type SessionRow, type TokensRow } from './sql.js';
import type { SessionStore } from './types.js';

export interface SqliteStoreOptions {
  /** Database file; its parent directory is created. `:memory:` for a private in-memory database. */
  path: string;
  /** How often expired rows are deleted (they are ignored on read regardless). Default 60 s. */
  sweepIntervalMs?: number;
  /** Where connection problems and unreadable records are logged; default nowhere (Tessera passes its own). */
  logger?: Logger;
}

// The table layout of `sql.ts`.
const schema = `
CREATE TABLE IF NOT EXISTS tessera_sessions (
  key TEXT PRIMARY KEY,
  sub TEXT NOT NULL,
  sid TEXT,
  last_seen_at INTEGER NOT NULL,
  idle_expires_at INTEGER NOT NULL,
  absolute_expires_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  record TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tessera_sessions_sub ON tessera_sessions (sub);
CREATE INDEX IF NOT EXISTS tessera_sessions_sid ON tessera_sessions (sid) WHERE sid IS NOT NULL;
CREATE INDEX IF NOT EXISTS tessera_sessions_expires_at ON tessera_sessions (expires_at);
CREATE TABLE IF NOT EXISTS tessera_session_tokens (
  key TEXT PRIMARY KEY REFERENCES tessera_sessions (key) ON DELETE CASCADE,
  sealed_tokens TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tessera_once (
  key TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tessera_once_expires_at ON tessera_once (expires_at);
`;

/**
 * Sessions in a local SQLite file (WAL, synchronous=NORMAL): survives restarts, one machine.
 * synchronous=NORMAL in WAL mode: a COMMIT has reached the OS before `set` resolves (so before the
 * session cookie is sent), so a killed process (SIGKILL, crash) loses no acknowledged session
 * (test/chaos/sqlite-sigkill.test.ts); a power loss may lose the last commits (FULL would fsync each).
 * The file holds sealed tokens, so a newly created file is made readable by its owner only.
 */
export function sqliteStore(options: SqliteStoreOptions): SessionStore {
  const name = 'sqlite';
  const logger = options?.logger ?? silentLogger;
  if (typeof options?.path !== 'string' || options.path.length === 0) throw new TypeError('"path" must be a non-empty string');
  const inMemory = options.path === ':memory:';
  const path = inMemory ? options.path : resolve(options.path);
  const Sqlite = loadDriver<typeof Database>('better-sqlite3', 'SQLite');

  let db: Database.Database;
  try {
    const created = !inMemory && !existsSync(path);
    if (!inMemory) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    db = new Sqlite(path, { timeout: 5000 });
    if (created) chmodSync(path, 0o600);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // The tokens table follows its session rows (ON DELETE CASCADE).
    db.pragma('foreign_keys = ON');
    // Random lookups in a large file are served from the page cache without a read() each.
    db.pragma('mmap_size = 268435456');
    db.exec(schema);
  } catch (err) {
    throw storeUnavailable(`sqlite ${path}`, 'open', err);
  }

  const shared = sharedStatements('tessera_sessions', 'tessera_once', 'tessera_session_tokens', () => '?');
  const statements = {
    get: db.prepare<[string, number], SessionRow>(shared.get),
    getTokens: db.prepare<[string, number], TokensRow>(shared.getTokens),
    set: db.prepare<ReturnType<typeof rowValues>>(shared.upsert),
    setTokens: db.prepare<[string, string]>(shared.upsertTokens),
    touch: db.prepare(
      `UPDATE tessera_sessions SET last_seen_at = @lastSeenAt, idle_expires_at = @idleExpiresAt,
         expires_at = min(@until, @idleExpiresAt, absolute_expires_at)
       WHERE key = @key AND expires_at > @now`,
    ),
    delete: db.prepare<[{ key: string; now: number }], { live: number }>(
      'DELETE FROM tessera_sessions WHERE key = @key RETURNING expires_at > @now AS live',
    ),
    deleteByUser: db.prepare<[{ sub: string; now: number }], { live: number }>(
      'DELETE FROM tessera_sessions WHERE sub = @sub RETURNING expires_at > @now AS live',
    ),
    deleteBySid: db.prepare<[{ sid: string; now: number }], { live: number }>(
      'DELETE FROM tessera_sessions WHERE sid = @sid RETURNING expires_at > @now AS live',
    ),
    listByUser: db.prepare<[string, number], SessionRow>(shared.listByUser),
    putOnce: db.prepare(
      `INSERT INTO tessera_once (key, expires_at) VALUES (@key, @expiresAt)
       ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE tessera_once.expires_at <= @now`,
    ),
    sweepSessions: db.prepare<[number]>(shared.sweepSessions),
    sweepOnce: db.prepare<[number]>(shared.sweepOnce),
    ping: db.prepare('SELECT 1'),
  };

  const setBoth = db.transaction((values: ReturnType<typeof rowValues>, sealedTokens: string) => {
    statements.set.run(...values);
    statements.setTokens.run(values[0], sealedTokens);
  });

  let closed = false;
  const run = <T>(operation: string, fn: () => T): Promise<T> =>
    guard(name, operation, () => {
      if (closed) throw closedError(name);
      return fn();
    });

  const stopSweeper = startSweeper(name, logger, options.sweepIntervalMs, () => {
    if (closed) return;
    const now = Date.now();
    statements.sweepSessions.run(now);
    statements.sweepOnce.run(now);
  });

  return withArgumentChecks<SessionStore>({
    get(key) {
      return run('get', () => {
        const row = statements.get.get(key, Date.now());
        return row === undefined ? undefined : rowToRecord(row, name, logger);
      });
    },
    getTokens(key) {
      return run('getTokens', () => rowToTokens(statements.getTokens.get(key, Date.now())));
    },
    async set(key, record, ttlMs) {
      await run('set', () => setBoth(rowValues(key, record, ttlMs, Date.now()), record.sealedTokens));
    },
    async touch(key, lastSeenAt, idleExpiresAt, ttlMs) {
      await run('touch', () => {
        const now = Date.now();
        statements.touch.run({ key, lastSeenAt, idleExpiresAt, until: now + Math.floor(ttlMs), now });
      });
    },
    delete(key) {
      return run('delete', () => statements.delete.get({ key, now: Date.now() })?.live === 1);
    },
    deleteByUser(sub) {
      return run('deleteByUser', () => statements.deleteByUser.all({ sub, now: Date.now() }).filter((row) => row.live === 1).length);
    },
    deleteBySid(sid) {
      return run('deleteBySid', () => statements.deleteBySid.all({ sid, now: Date.now() }).filter((row) => row.live === 1).length);
    },
    listByUser(sub) {
      return run('listByUser', () => rowsToListing(statements.listByUser.all(sub, Date.now()), name, logger));
    },
    async putOnce(key, ttlMs) {
      return run('putOnce', () => {
        const now = Date.now();
        return statements.putOnce.run({ key, expiresAt: now + Math.floor(ttlMs), now }).changes === 1;
      });
    },
    async ping() {
      await run('ping', () => statements.ping.get());
    },
    async close() {
      if (closed) return;
      closed = true;
      stopSweeper();
      db.close();
    },
  });
}
