import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { logger } from '../observability/log.js';
import { closedError, guard, storeUnavailable } from './errors.js';
import { assertEpochMs, assertKey, assertRecord, assertTtl, byCreation, decodeCompact, encodeCompact, storeExpiry } from './record.js';
import type { SessionRecord, SessionStore } from './types.js';

export interface SqliteStoreOptions {
  /** Database file; its parent directory is created. `:memory:` for a private in-memory database. */
  path: string;
  /** How often expired rows are deleted (they are ignored on read regardless). Default 60 s. */
  sweepIntervalMs?: number;
}

interface Row {
  key: string;
  record: string;
  last_seen_at: number;
  idle_expires_at: number;
  absolute_expires_at: number;
}

// `expires_at` is min(set time + TTL, idle expiry, absolute expiry): one column decides liveness.
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
CREATE TABLE IF NOT EXISTS tessera_once (
  key TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tessera_once_expires_at ON tessera_once (expires_at);
`;

const columns = 'key, record, last_seen_at, idle_expires_at, absolute_expires_at';

/**
 * Sessions in a local SQLite file (WAL, synchronous=NORMAL): survives restarts, one machine.
 * The file holds sealed tokens, so a newly created file is made readable by its owner only.
 */
export function sqliteStore(options: SqliteStoreOptions): SessionStore {
  const name = 'sqlite';
  if (typeof options?.path !== 'string' || options.path.length === 0) throw new TypeError('"path" must be a non-empty string');
  const inMemory = options.path === ':memory:';
  const path = inMemory ? options.path : resolve(options.path);

  let db: Database.Database;
  try {
    const created = !inMemory && !existsSync(path);
    if (!inMemory) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    db = new Database(path, { timeout: 5000 });
    if (created) chmodSync(path, 0o600);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // Random lookups in a large file are served from the page cache without a read() each.
    db.pragma('mmap_size = 268435456');
    db.exec(schema);
  } catch (err) {
    throw storeUnavailable(`sqlite ${path}`, 'open', err);
  }

  const statements = {
    get: db.prepare<[string, number], Row>(`SELECT ${columns} FROM tessera_sessions WHERE key = ? AND expires_at > ?`),
    set: db.prepare(
      `INSERT INTO tessera_sessions (key, sub, sid, last_seen_at, idle_expires_at, absolute_expires_at, expires_at, record)
       VALUES (@key, @sub, @sid, @lastSeenAt, @idleExpiresAt, @absoluteExpiresAt, @expiresAt, @record)
       ON CONFLICT (key) DO UPDATE SET sub = excluded.sub, sid = excluded.sid, last_seen_at = excluded.last_seen_at,
         idle_expires_at = excluded.idle_expires_at, absolute_expires_at = excluded.absolute_expires_at,
         expires_at = excluded.expires_at, record = excluded.record`,
    ),
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
    listByUser: db.prepare<[string, number], Row>(`SELECT ${columns} FROM tessera_sessions WHERE sub = ? AND expires_at > ?`),
    putOnce: db.prepare(
      `INSERT INTO tessera_once (key, expires_at) VALUES (@key, @expiresAt)
       ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE tessera_once.expires_at <= @now`,
    ),
    sweepSessions: db.prepare(
      'DELETE FROM tessera_sessions WHERE key IN (SELECT key FROM tessera_sessions WHERE expires_at <= ? LIMIT 1000)',
    ),
    sweepOnce: db.prepare('DELETE FROM tessera_once WHERE key IN (SELECT key FROM tessera_once WHERE expires_at <= ? LIMIT 1000)'),
    ping: db.prepare('SELECT 1'),
  };

  const toRecord = (row: Row): SessionRecord | undefined => {
    const record = decodeCompact(row.record, {
      lastSeenAt: row.last_seen_at,
      idleExpiresAt: row.idle_expires_at,
      absoluteExpiresAt: row.absolute_expires_at,
    });
    if (record === undefined) logger.error('session store: unreadable record ignored', { store: name });
    return record;
  };

  let closed = false;
  const run = <T>(operation: string, fn: () => T): Promise<T> =>
    guard(name, operation, () => {
      if (closed) throw closedError(name);
      return fn();
    });

  const sweep = () => {
    if (closed) return;
    try {
      const now = Date.now();
      statements.sweepSessions.run(now);
      statements.sweepOnce.run(now);
    } catch (err) {
      logger.warn('session store sweep failed', { store: name, error: String(err) });
    }
  };
  const timer = setInterval(sweep, options.sweepIntervalMs ?? 60_000);
  timer.unref();

  return {
    get(key) {
      return run('get', () => {
        const row = statements.get.get(key, Date.now());
        return row === undefined ? undefined : toRecord(row);
      });
    },
    async set(key, record, ttlMs) {
      assertKey(key);
      assertRecord(record);
      assertTtl(ttlMs);
      await run('set', () => {
        const now = Date.now();
        statements.set.run({
          key,
          sub: record.sub,
          sid: record.sid ?? null,
          lastSeenAt: record.lastSeenAt,
          idleExpiresAt: record.idleExpiresAt,
          absoluteExpiresAt: record.absoluteExpiresAt,
          expiresAt: storeExpiry(now, ttlMs, record.idleExpiresAt, record.absoluteExpiresAt),
          record: encodeCompact(record),
        });
      });
    },
    async touch(key, lastSeenAt, idleExpiresAt, ttlMs) {
      assertEpochMs(lastSeenAt, 'lastSeenAt');
      assertEpochMs(idleExpiresAt, 'idleExpiresAt');
      assertTtl(ttlMs);
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
      return run('listByUser', () => {
        const out: Array<{ key: string; record: SessionRecord }> = [];
        for (const row of statements.listByUser.all(sub, Date.now())) {
          const record = toRecord(row);
          if (record !== undefined) out.push({ key: row.key, record });
        }
        return out.sort(byCreation);
      });
    },
    async putOnce(key, ttlMs) {
      assertKey(key);
      assertTtl(ttlMs);
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
      clearInterval(timer);
      db.close();
    },
  };
}
