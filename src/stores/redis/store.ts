/**
 * Sessions in Redis — standalone, Sentinel or Cluster — shared by any number of gateway instances.
 * Requires Redis ≥ 6.2 (GETDEL, SET … GET) or a compatible server (Valkey).
 *
 * Key layout (`P` is the prefix, `tessera:` by default):
 *
 *   P s:<key>   string  the session (`codec.ts`): `1|<idleExpiresAt>|<lastSeenAt>|<absoluteExpiresAt>|<json>`,
 *                       the three times (epoch ms) in front so `touch` rewrites them in Lua without
 *                       re-encoding JSON; <json> holds the rest with one-letter names
 *                       (u sub, d sid, r roles, t tid, s scope, m amr, c acr, a authTime, x accessTokenExpiresAt,
 *                       n createdAt, k sealedTokens). PX = min(ttlMs, until idle/absolute expiry).
 *   P u:<sub>   hash    user index: field = session key, value = that session's expiry (epoch ms).
 *   P d:<sid>   hash    IdP-session index (only for records with a sid), same shape.
 *   P o:<key>   string  `putOnce` marker: SET 1 NX PX ttl.
 *   P invalidate        pub/sub channel (`pubsub.ts`): JSON array of deleted session keys, for in-process caches.
 *
 * Every key has a TTL. An index hash's TTL is raised (never lowered) to cover its longest-lived
 * member, and members whose expiry passed are pruned when the hash grows, so a user's index cannot
 * outlive or outgrow their sessions.
 *
 * Cluster: every command and every Lua script touches exactly one key, so nothing is cross-slot
 * and no hash tags are needed; multi-key operations are sequences of single-key commands. Writes
 * go index first, session second, so a crash in between leaves at worst an index entry pointing
 * at nothing (ignored on read, pruned when it expires) — never a session that `deleteByUser` or
 * `deleteBySid` cannot find. Deleting through an index checks, in Lua, that the record still
 * belongs to that user or sid before deleting it.
 *
 * Outages: see `connection.ts`.
 */
import { silentLogger, type Logger } from '../../observability/log.js';
import { closedError, storeUnavailable, withDeadline } from '../errors.js';
import { byCreation, decodeCompact, storeExpiry, withArgumentChecks } from '../record.js';
import type { SessionRecord, SessionStore } from '../types.js';
import { decodeValue, encodeValue, isLive } from './codec.js';
import { callDeadlineMs, createClient, isCluster, watchConnection, type RedisClient, type RedisConnection } from './connection.js';
import { redisInvalidation } from './pubsub.js';
import { deleteOwnedScript, evalScript, indexAddScript, touchScript } from './scripts.js';

export interface RedisStoreOptions {
  /** Prefix of every key and of the invalidation channel. Default `tessera:`. */
  prefix?: string;
  /** Where connection problems and unreadable records are logged; default nowhere (Tessera passes its own). */
  logger?: Logger;
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
        const old = await evalScript(client, deleteOwnedScript, sessionKey(key), [field, value]);
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
    async set(key, record, ttlMs) {
      await run('set', async () => {
        const now = Date.now();
        const expires = storeExpiry(now, ttlMs, record.idleExpiresAt, record.absoluteExpiresAt);
        await Promise.all([
          indexAdd(userKey(record.sub), key, expires, now),
          record.sid === undefined ? undefined : indexAdd(sidKey(record.sid), key, expires, now),
        ]);
        const old = await client.set(sessionKey(key), encodeValue(record), 'PX', Math.max(1, expires - now), 'GET');
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
        const result = await evalScript(client, touchScript, sessionKey(key), [now, idleExpiresAt, lastSeenAt, now + Math.floor(ttlMs)]);
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
        const old = await client.getdel(sessionKey(key));
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
