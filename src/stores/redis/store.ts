/**
 * Sessions in Redis — standalone, Sentinel or Cluster — shared by any number of gateway instances.
 * Requires Redis ≥ 6.2 (GETDEL, SET … GET) or a compatible server (Valkey).
 *
 * Key layout (`P` is the prefix, `tessera:` by default):
 *
 *   P s:<key>   string  the session (`codec.ts`): `1|<idleExpiresAt>|<lastSeenAt>|<absoluteExpiresAt>|<json>`,
 *                       the three times (epoch ms) in front so `touch` rewrites them in Lua without
 *                       re-encoding JSON; <json> holds the rest with one-letter names
 *                       (u sub, d sid, r roles, t tid, s scope, m amr, c acr, a authTime, g userAgent,
 *                       b binding, x accessTokenExpiresAt, n createdAt). PX = min(ttlMs, until idle/absolute expiry).
 *                       This is the only key the per-request read (`get`) touches.
 *   P t:{P s:<key>}     string  the session's sealed tokens, read only by `getTokens` (token relay,
 *                       logout, offline use). Its hash tag is the session key, so both share a Cluster
 *                       slot (with a prefix that has its own hash tag, `{app}:`, it is `P t:<key>`).
 *                       Written with the session in one script, same PX; `touch` extends both;
 *                       every delete removes both in one script. A session written before the tokens
 *                       moved out has no tokens key and carries them in its JSON (`k`), read as a fallback.
 *   P u:<sub>   hash    user index: field = session key, value = that session's expiry (epoch ms).
 *   P d:<sid>   hash    IdP-session index (only for records with a sid), same shape.
 *   P o:<key>   string  `putOnce` marker: SET 1 NX PX ttl.
 *   P invalidate        pub/sub channel (`pubsub.ts`): JSON array of deleted session keys, for in-process caches.
 *
 * Every key has a TTL. An index hash's TTL is raised (never lowered) to cover its longest-lived
 * member, and members whose expiry passed are pruned when the hash grows, so a user's index cannot
 * outlive or outgrow their sessions.
 *
 * Cluster: every command and every Lua script touches one key, or one session and its tokens key
 * (same slot), so nothing is cross-slot; multi-key operations are sequences of such commands.
 * Writes go index first, session second, so a crash in between leaves at worst an index entry
 * pointing at nothing (ignored on read, pruned when it expires) — never a session that
 * `deleteByUser` or `deleteBySid` cannot find. Deleting through an index checks, in Lua, that the
 * record still belongs to that user or sid before deleting it.
 *
 * Outages: see `connection.ts`.
 */
import { silentLogger, type Logger } from '../../observability/log.js';
import { closedError, storeUnavailable, withDeadline } from '../errors.js';
import { byCreation, decodeCompact, legacySealedTokens, storeExpiry, withArgumentChecks } from '../record.js';
import type { SessionRecord, SessionStore } from '../types.js';
import { decodeValue, encodeValue, isLive } from './codec.js';
import { callDeadlineMs, createClient, isCluster, watchConnection, type RedisClient, type RedisConnection } from './connection.js';
import { redisInvalidation } from './pubsub.js';
import { deleteOwnedScript, deleteScript, evalScript, indexAddScript, setScript, tokensScript, touchScript } from './scripts.js';

export interface RedisStoreOptions {
  /** Prefix of every key and of the invalidation channel. Default `tessera:`. */
  prefix?: string;
  /** Where connection problems and unreadable records are logged; default nowhere (Tessera passes its own). */
  logger?: Logger;
}

/** What Redis hashes to pick a key's Cluster slot: the first non-empty `{…}` hash tag, else the whole key. */
function slotPart(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  return close === -1 || close === open + 1 ? key : key.slice(open + 1, close);
}

export function redisStore(connection: RedisConnection, options: RedisStoreOptions = {}): SessionStore {
  const prefix = options.prefix ?? 'tessera:';
  const logger = options.logger ?? silentLogger;
  if (typeof prefix !== 'string') throw new TypeError('"prefix" must be a string');
  const owned = !('client' in connection);
  const client = 'client' in connection ? connection.client : createClient(connection);
  const name = isCluster(client) ? 'redis-cluster' : 'redis';

  const sessionKey = (key: string) => `${prefix}s:${key}`;
  const userKey = (sub: string) => `${prefix}u:${sub}`;
  const sidKey = (sid: string) => `${prefix}d:${sid}`;
  const onceKey = (key: string) => `${prefix}o:${key}`;
  /** The session key and its tokens key, which hash to the same Cluster slot. */
  const sessionKeys = (key: string): [string, string] => {
    const session = sessionKey(key);
    const slot = slotPart(session);
    for (const tokens of [`${prefix}t:${key}`, `${prefix}t:{${session}}`]) if (slotPart(tokens) === slot) return [session, tokens];
    throw new TypeError('"key" and "prefix" must not contain unbalanced { } (the tokens key must share the session key\'s Redis Cluster slot)');
  };

  let closed = false;
  const isClosed = () => closed;
  const watch = watchConnection(client, name, isClosed, logger);
  const invalidation = redisInvalidation(client, `${prefix}invalidate`, name, isClosed, logger);

  const run = async <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
    try {
      if (closed) throw closedError(name);
      await watch.connected();
      return await withDeadline(fn(), callDeadlineMs, name, operation);
    } catch (err) {
      throw storeUnavailable(name, operation, err);
    }
  };

  const indexAdd = (index: string, key: string, expires: number, now: number) => evalScript(client, indexAddScript, index, [key, expires, now]);

  /** Removes `key` from the indexes of a record that was just deleted. */
  const unindex = async (key: string, record: SessionRecord | undefined, skip?: 'user' | 'sid') => {
    if (record === undefined) return;
    const work: Array<Promise<unknown>> = [];
    if (skip !== 'user') work.push(client.hdel(userKey(record.sub), key));
    if (skip !== 'sid' && record.sid !== undefined) work.push(client.hdel(sidKey(record.sid), key));
    await Promise.all(work);
  };

  /** Deletes every session listed in `index` whose record still has `field` = `value`. */
  const deleteThrough = async (index: string, field: 'u' | 'd', value: string): Promise<number> => {
    const members = await client.hkeys(index);
    const now = Date.now();
    const deleted: string[] = [];
    let count = 0;
    await Promise.all(
      members.map(async (key) => {
        const old = await evalScript(client, deleteOwnedScript, sessionKeys(key), [field, value]);
        if (typeof old !== 'string') return;
        deleted.push(key);
        const record = decodeValue(old);
        if (record !== undefined && isLive(record, now)) count++;
        await unindex(key, record, field === 'u' ? 'user' : 'sid');
      }),
    );
    // Only members whose session was deleted here leave the index: a member without a session may
    // belong to a `set` still in flight (index first, session second).
    if (deleted.length > 0) await client.hdel(index, ...deleted);
    await invalidation.publish(deleted);
    return count;
  };

  return withArgumentChecks<SessionStore>({
    get(key) {
      return run('get', async () => {
        const value = await client.get(sessionKey(key));
        if (value === null) return undefined;
        const record = decodeValue(value);
        if (record === undefined) {
          logger.error({ store: name }, 'session store: unreadable record ignored');
          return undefined;
        }
        return isLive(record, Date.now()) ? record : undefined;
      });
    },
    getTokens(key) {
      return run('getTokens', async () => {
        const found = await evalScript(client, tokensScript, sessionKeys(key), [Date.now()]);
        if (!Array.isArray(found)) return undefined;
        const [kind, value] = found as [string, string];
        return kind === 't' ? value : legacySealedTokens(value.slice(value.indexOf('{')));
      });
    },
    async set(key, record, ttlMs) {
      await run('set', async () => {
        const now = Date.now();
        const expires = storeExpiry(now, ttlMs, record.idleExpiresAt, record.absoluteExpiresAt);
        await Promise.all([
          indexAdd(userKey(record.sub), key, expires, now),
          record.sid === undefined ? undefined : indexAdd(sidKey(record.sid), key, expires, now),
        ]);
        const old = (await evalScript(client, setScript, sessionKeys(key), [encodeValue(record), record.sealedTokens, Math.max(1, expires - now)])) as string | null;
        const previous = old === null ? undefined : decodeValue(old);
        if (previous === undefined) return;
        const stale: Array<Promise<unknown>> = [];
        if (previous.sub !== record.sub) stale.push(client.hdel(userKey(previous.sub), key));
        if (previous.sid !== undefined && previous.sid !== record.sid) stale.push(client.hdel(sidKey(previous.sid), key));
        await Promise.all(stale);
      });
    },
    async touch(key, lastSeenAt, idleExpiresAt, ttlMs) {
      await run('touch', async () => {
        const now = Date.now();
        const result = await evalScript(client, touchScript, sessionKeys(key), [now, idleExpiresAt, lastSeenAt, now + Math.floor(ttlMs)]);
        if (!Array.isArray(result)) return;
        const [json, expires] = result as [string, string];
        const record = decodeCompact(json, { lastSeenAt, idleExpiresAt, absoluteExpiresAt: 0 });
        if (record === undefined) return;
        // Keep the indexes alive at least as long as the session they point to.
        await Promise.all([
          indexAdd(userKey(record.sub), key, Number(expires), now),
          record.sid === undefined ? undefined : indexAdd(sidKey(record.sid), key, Number(expires), now),
        ]);
      });
    },
    delete(key) {
      return run('delete', async () => {
        const old = (await evalScript(client, deleteScript, sessionKeys(key), [])) as string | null;
        if (old === null) return false;
        const record = decodeValue(old);
        await unindex(key, record);
        await invalidation.publish([key]);
        return record !== undefined && isLive(record, Date.now());
      });
    },
    deleteByUser(sub) {
      return run('deleteByUser', () => deleteThrough(userKey(sub), 'u', sub));
    },
    deleteBySid(sid) {
      return run('deleteBySid', () => deleteThrough(sidKey(sid), 'd', sid));
    },
    listByUser(sub) {
      return run('listByUser', async () => {
        const keys = await client.hkeys(userKey(sub));
        const values = await Promise.all(keys.map((key) => client.get(sessionKey(key))));
        const now = Date.now();
        const out: Array<{ key: string; record: SessionRecord }> = [];
        keys.forEach((key, i) => {
          const value = values[i];
          const record = value === null || value === undefined ? undefined : decodeValue(value);
          if (record !== undefined && record.sub === sub && isLive(record, now)) out.push({ key, record });
        });
        return out.sort(byCreation);
      });
    },
    async putOnce(key, ttlMs) {
      return run('putOnce', async () => (await client.set(onceKey(key), '1', 'PX', Math.max(1, Math.floor(ttlMs)), 'NX')) === 'OK');
    },
    onInvalidate(listener) {
      invalidation.listen(listener);
    },
    async ping() {
      await run('ping', () => client.ping());
    },
    async close() {
      if (closed) return;
      closed = true;
      const quit = async (c: RedisClient) => {
        try {
          await withDeadline(c.quit(), 1000, name, 'close');
        } catch {
          c.disconnect();
        }
      };
      const subscriber = invalidation.subscriber;
      await Promise.all([subscriber === undefined ? undefined : quit(subscriber), owned ? quit(client) : undefined]);
      if (!owned) watch.detach();
    },
  });
}
