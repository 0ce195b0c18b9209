/**
 * Persistence for oidc-provider's models (sessions, grants, codes, refresh tokens,
 * interactions, ...) in one SQLite table, so state survives a restart and IdP sessions can be
 * found by account (what Mosaic's logout API needs).
 */
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import type { Adapter, AdapterPayload } from 'oidc-provider';

/** Models whose records belong to a grant and go away with it. */
const grantable = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

interface Row {
  payload: string;
}

export interface ProviderStore {
  /** The factory oidc-provider's `adapter` setting expects. */
  adapterFor(model: string): Adapter;
  /** Ids of the unexpired `Session` records of an account. */
  sessionIdsForAccount(accountId: string): string[];
  close(): void;
}

const now = () => Math.floor(Date.now() / 1000);

export function openProviderStore(path: string): ProviderStore {
  // Loaded here, not at import: the CLI imports the dev IdP, and better-sqlite3 is optional.
  const Sqlite = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
  const db = new Sqlite(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 2000');
  db.exec(`
    CREATE TABLE IF NOT EXISTS oidc_model (
      model TEXT NOT NULL,
      id TEXT NOT NULL,
      payload TEXT NOT NULL,
      expires_at INTEGER,
      grant_id TEXT,
      user_code TEXT,
      uid TEXT,
      account_id TEXT,
      PRIMARY KEY (model, id)
    );
    CREATE INDEX IF NOT EXISTS oidc_model_grant ON oidc_model (grant_id) WHERE grant_id IS NOT NULL;
    CREATE INDEX IF NOT EXISTS oidc_model_user_code ON oidc_model (model, user_code) WHERE user_code IS NOT NULL;
    CREATE INDEX IF NOT EXISTS oidc_model_uid ON oidc_model (model, uid) WHERE uid IS NOT NULL;
    CREATE INDEX IF NOT EXISTS oidc_model_account ON oidc_model (model, account_id) WHERE account_id IS NOT NULL;
  `);
  db.prepare('DELETE FROM oidc_model WHERE expires_at IS NOT NULL AND expires_at <= ?').run(now());

  const live = 'AND (expires_at IS NULL OR expires_at > ?)';
  const statements = {
    upsert: db.prepare(`INSERT INTO oidc_model (model, id, payload, expires_at, grant_id, user_code, uid, account_id)
      VALUES (@model, @id, @payload, @expiresAt, @grantId, @userCode, @uid, @accountId)
      ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at,
        grant_id = excluded.grant_id, user_code = excluded.user_code, uid = excluded.uid, account_id = excluded.account_id`),
    find: db.prepare(`SELECT payload FROM oidc_model WHERE model = ? AND id = ? ${live}`),
    findByUid: db.prepare(`SELECT payload FROM oidc_model WHERE model = ? AND uid = ? ${live} LIMIT 1`),
    findByUserCode: db.prepare(`SELECT payload FROM oidc_model WHERE model = ? AND user_code = ? ${live} LIMIT 1`),
    consume: db.prepare(`UPDATE oidc_model SET payload = json_set(payload, '$.consumed', ?) WHERE model = ? AND id = ?`),
    destroy: db.prepare('DELETE FROM oidc_model WHERE model = ? AND id = ?'),
    revokeByGrantId: db.prepare('DELETE FROM oidc_model WHERE grant_id = ?'),
    sessionsForAccount: db.prepare(`SELECT id FROM oidc_model WHERE model = 'Session' AND account_id = ? ${live}`),
  };

  const parse = (row: unknown): AdapterPayload | undefined =>
    row === undefined ? undefined : (JSON.parse((row as Row).payload) as AdapterPayload);

  const adapterFor = (model: string): Adapter => ({
    async upsert(id, payload, expiresIn) {
      statements.upsert.run({
        model,
        id,
        payload: JSON.stringify(payload),
        expiresAt: typeof expiresIn === 'number' ? now() + expiresIn : null,
        grantId: grantable.has(model) ? (payload.grantId ?? null) : null,
        userCode: payload.userCode ?? null,
        uid: model === 'Session' ? (payload.uid ?? null) : null,
        accountId: model === 'Session' ? (payload.accountId ?? null) : null,
      });
    },
    async find(id) {
      return parse(statements.find.get(model, id, now()));
    },
    async findByUid(uid) {
      return parse(statements.findByUid.get(model, uid, now()));
    },
    async findByUserCode(userCode) {
      return parse(statements.findByUserCode.get(model, userCode, now()));
    },
    async consume(id) {
      statements.consume.run(now(), model, id);
    },
    async destroy(id) {
      statements.destroy.run(model, id);
    },
    async revokeByGrantId(grantId) {
      statements.revokeByGrantId.run(grantId);
    },
  });

  return {
    adapterFor,
    sessionIdsForAccount: (accountId) =>
      (statements.sessionsForAccount.all(accountId, now()) as { id: string }[]).map((r) => r.id),
    close: () => db.close(),
  };
}
