import { strict as assert } from 'node:assert';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { sqliteStore } from '../../src/stores/sqlite.js';
import { assertLegacySessionReads, hot, legacyRecordJson, randomKey, sampleRecord, testStore } from './conformance.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-sqlite-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

testStore('sqlite', async () => sqliteStore({ path: join(dir, 'conformance', 'sessions.db') }), { sharedBackend: true });

describe('sqlite store file', () => {
  it('creates missing parent directories and a file only its owner can read', async () => {
    const path = join(dir, 'a', 'b', 'c', 'sessions.db');
    const store = sqliteStore({ path });
    await store.ping();
    await store.close();
    assert.equal((await stat(path)).mode & 0o777, 0o600);
  });

  it('uses WAL journaling', async () => {
    const path = join(dir, 'wal', 'sessions.db');
    const store = sqliteStore({ path });
    await store.set(randomKey(), sampleRecord(), 60_000);
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
    }
    await store.close();
  });

  it('keeps sessions and putOnce markers across a reopen', async () => {
    const path = join(dir, 'reopen', 'sessions.db');
    const key = randomKey();
    const record = sampleRecord();
    const first = sqliteStore({ path });
    await first.set(key, record, 60_000);
    assert.equal(await first.putOnce('jti:reopen', 60_000), true);
    await first.close();

    const second = sqliteStore({ path });
    try {
      assert.deepEqual(await second.get(key), hot(record));
      assert.deepEqual(await second.listByUser(record.sub), [{ key, record: hot(record) }]);
      assert.equal(await second.getTokens(key), record.sealedTokens);
      assert.equal(await second.putOnce('jti:reopen', 60_000), false);
    } finally {
      await second.close();
    }
  });

  it('sweeps expired rows on its timer', async () => {
    const path = join(dir, 'sweep', 'sessions.db');
    const store = sqliteStore({ path, sweepIntervalMs: 50 });
    try {
      await store.set(randomKey(), sampleRecord(), 100);
      await store.putOnce('jti:sweep', 100);
      const db = new Database(path, { readonly: true });
      const count = () =>
        db.prepare<[], { n: number }>('SELECT (SELECT count(*) FROM tessera_sessions) + (SELECT count(*) FROM tessera_once) + (SELECT count(*) FROM tessera_session_tokens) AS n').get()?.n;
      assert.equal(count(), 3, 'a session row, its tokens row and a marker');
      const deadline = Date.now() + 3000;
      while (count() !== 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(count(), 0);
      db.close();
    } finally {
      await store.close();
    }
  });

  it('keeps the tokens out of the session rows, in their own table', async () => {
    const path = join(dir, 'layout', 'sessions.db');
    const store = sqliteStore({ path });
    const key = randomKey();
    const record = sampleRecord();
    await store.set(key, record, 60_000);
    const db = new Database(path, { readonly: true });
    try {
      const row = db.prepare<[string], { record: string }>('SELECT record FROM tessera_sessions WHERE key = ?').get(key);
      assert.ok(row !== undefined && !row.record.includes(record.sealedTokens), 'the session row has no tokens');
      assert.equal(db.prepare<[string], { t: string }>('SELECT sealed_tokens AS t FROM tessera_session_tokens WHERE key = ?').get(key)?.t, record.sealedTokens);
    } finally {
      db.close();
      await store.close();
    }
  });

  it('reads a database written before the tokens moved out: tokens from the old column, until the next set', async () => {
    const path = join(dir, 'legacy', 'sessions.db');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'legacy'));
    const key = randomKey();
    const record = sampleRecord();
    const old = new Database(path);
    old.exec(`CREATE TABLE tessera_sessions (key TEXT PRIMARY KEY, sub TEXT NOT NULL, sid TEXT, last_seen_at INTEGER NOT NULL,
      idle_expires_at INTEGER NOT NULL, absolute_expires_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, record TEXT NOT NULL) WITHOUT ROWID`);
    const legacyJson = legacyRecordJson(record);
    old.prepare('INSERT INTO tessera_sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(key, record.sub, record.sid, record.lastSeenAt, record.idleExpiresAt, record.absoluteExpiresAt, record.idleExpiresAt, legacyJson);
    old.close();

    const store = sqliteStore({ path });
    try {
      await assertLegacySessionReads(store, key, record);
    } finally {
      await store.close();
    }
  });

  it('fails to open an unusable path with ERR_STORE_UNAVAILABLE naming the path', async () => {
    const path = join(dir, 'not-a-dir');
    await writeFile(path, 'x');
    assert.throws(
      () => sqliteStore({ path: join(path, 'sessions.db') }),
      (err: unknown) => err instanceof Error && 'code' in err && err.code === 'ERR_STORE_UNAVAILABLE' && err.message.includes(path),
    );
  });
});
