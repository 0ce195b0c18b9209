/**
 * What the SQL stores (SQLite, PostgreSQL) share: one table layout, the statements that read the
 * same in both dialects, and the row ↔ record mapping. Each driver file keeps its own DDL, its
 * dialect's statements and its connection handling.
 *
 * A session row: key, sub, sid, last_seen_at, idle_expires_at, absolute_expires_at, expires_at,
 * record (the compact JSON of `record.ts`). `expires_at` is min(set time + TTL, idle expiry,
 * absolute expiry): one indexed column decides liveness and sweeping.
 *
 * The sealed tokens live in a second table (key → sealed_tokens), its key a foreign key to the
 * session row with ON DELETE CASCADE: written in the same transaction as the row, alive exactly as
 * long as the row is (liveness is the row's `expires_at`), deleted with it by every delete and sweep.
 * Keeping ~2 KB of tokens out of the session rows keeps the table the per-request read walks small.
 * Rows written before the split still carry the tokens in `record` (`k`); `getTokens` falls back to
 * them, and they leave with their session (at the latest its absolute expiry) or the next `set`.
 */
import type { Logger } from '../observability/log.js';
import { byCreation, decodeCompact, encodeCompact, legacySealedTokens, storeExpiry } from './record.js';
import type { NewSession, SessionRecord } from './types.js';

/** A row as read back. PostgreSQL returns `bigint` columns as strings, SQLite as numbers. */
export interface SessionRow {
  key: string;
  record: string;
  last_seen_at: number | string;
  idle_expires_at: number | string;
  absolute_expires_at: number | string;
}

const readColumns = 'key, record, last_seen_at, idle_expires_at, absolute_expires_at';
const writeColumns = ['key', 'sub', 'sid', 'last_seen_at', 'idle_expires_at', 'absolute_expires_at', 'expires_at', 'record'] as const;

/** A `getTokens` row: the tokens, or (a row written before the split) the record that holds them. */
export interface TokensRow {
  sealed_tokens: string | null;
  legacy: string | null;
}

/**
 * The statements that are the same in both dialects but for their placeholders (`?` or `$n`).
 * Parameters: get/getTokens/listByUser (key or sub, now); upsert (`rowValues`); upsertTokens (key,
 * sealed tokens); sweeps (now).
 */
export function sharedStatements(table: string, onceTable: string, tokensTable: string, placeholder: (n: number) => string) {
  const [p1, p2] = [placeholder(1), placeholder(2)];
  return {
    get: `SELECT ${readColumns} FROM ${table} WHERE key = ${p1} AND expires_at > ${p2}`,
    getTokens: `SELECT t.sealed_tokens, CASE WHEN t.sealed_tokens IS NULL THEN s.record END AS legacy
      FROM ${table} s LEFT JOIN ${tokensTable} t ON t.key = s.key WHERE s.key = ${p1} AND s.expires_at > ${p2}`,
    upsertTokens: `INSERT INTO ${tokensTable} (key, sealed_tokens) VALUES (${p1}, ${p2})
      ON CONFLICT (key) DO UPDATE SET sealed_tokens = excluded.sealed_tokens`,
    listByUser: `SELECT ${readColumns} FROM ${table} WHERE sub = ${p1} AND expires_at > ${p2}`,
    upsert: `INSERT INTO ${table} (${writeColumns.join(', ')}) VALUES (${writeColumns.map((_, i) => placeholder(i + 1)).join(', ')})
      ON CONFLICT (key) DO UPDATE SET ${writeColumns.slice(1).map((column) => `${column} = excluded.${column}`).join(', ')}`,
    sweepSessions: `DELETE FROM ${table} WHERE key IN (SELECT key FROM ${table} WHERE expires_at <= ${p1} LIMIT 1000)`,
    sweepOnce: `DELETE FROM ${onceTable} WHERE key IN (SELECT key FROM ${onceTable} WHERE expires_at <= ${p1} LIMIT 1000)`,
  };
}

/** The parameters of `upsert`, in its column order. */
export function rowValues(key: string, record: NewSession, ttlMs: number, now: number): [string, string, string | null, number, number, number, number, string] {
  return [
    key,
    record.sub,
    record.sid ?? null,
    record.lastSeenAt,
    record.idleExpiresAt,
    record.absoluteExpiresAt,
    storeExpiry(now, ttlMs, record.idleExpiresAt, record.absoluteExpiresAt),
    encodeCompact(record),
  ];
}

/** The sealed tokens of a `getTokens` row (the old column as a fallback), or `undefined`. */
export function rowToTokens(row: TokensRow | undefined): string | undefined {
  if (row === undefined) return undefined;
  if (row.sealed_tokens !== null) return row.sealed_tokens;
  return row.legacy === null ? undefined : legacySealedTokens(row.legacy);
}

/** The record a row holds, or `undefined` (logged) when it is not one this code wrote. */
export function rowToRecord(row: SessionRow, store: string, logger: Logger): SessionRecord | undefined {
  const record = decodeCompact(row.record, {
    lastSeenAt: Number(row.last_seen_at),
    idleExpiresAt: Number(row.idle_expires_at),
    absoluteExpiresAt: Number(row.absolute_expires_at),
  });
  if (record === undefined) logger.error({ store }, 'session store: unreadable record ignored');
  return record;
}

/** A user's sessions from their live rows, oldest first; unreadable rows are left out. */
export function rowsToListing(rows: Iterable<SessionRow>, store: string, logger: Logger): Array<{ key: string; record: SessionRecord }> {
  const out: Array<{ key: string; record: SessionRecord }> = [];
  for (const row of rows) {
    const record = rowToRecord(row, store, logger);
    if (record !== undefined) out.push({ key: row.key, record });
  }
  return out.sort(byCreation);
}

/** Every `sweepIntervalMs` (default 60 s), deletes expired rows; failures are logged and retried next time. */
export function startSweeper(store: string, logger: Logger, sweepIntervalMs: number | undefined, sweep: () => unknown): () => void {
  const timer = setInterval(async () => {
    try {
      await sweep();
    } catch (err) {
      logger.warn({ store, error: String(err) }, 'session store sweep failed');
    }
  }, sweepIntervalMs ?? 60_000);
  timer.unref();
  return () => clearInterval(timer);
}
