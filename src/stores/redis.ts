/**
 * Sessions in Redis — standalone, Sentinel or Cluster — shared by any number of gateway instances.
 * Requires Redis ≥ 6.2 (GETDEL, SET … GET) or a compatible server (Valkey).
 *
 * Key layout (`P` is the prefix, `tessera:` by default):
 *
 *   P s:<key>   string  the session: `1|<idleExpiresAt>|<lastSeenAt>|<absoluteExpiresAt>|<json>`,
 *                       the three times (epoch ms) in front so `touch` rewrites them in Lua without
 *                       re-encoding JSON; <json> holds the rest with one-letter names
 *                       (u sub, d sid, r roles, t tid, s scope, m amr, c acr, x accessTokenExpiresAt,
 *                       n createdAt, k sealedTokens). PX = min(ttlMs, until idle/absolute expiry).
 *   P u:<sub>   hash    user index: field = session key, value = that session's expiry (epoch ms).
 *   P d:<sid>   hash    IdP-session index (only for records with a sid), same shape.
 *   P o:<key>   string  `putOnce` marker: SET 1 NX PX ttl.
 *   P invalidate        pub/sub channel: JSON array of deleted session keys, for in-process caches.
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
 * Outages: the client does not queue commands while disconnected, commands time out after
 * 1.5 s, and it keeps reconnecting (backoff up to 2 s) — so calls reject quickly with
 * `ERR_STORE_UNAVAILABLE` (503) while Redis is down, and work again by themselves once it is back.
 */
import { createHash } from 'node:crypto';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisNode } from '../config/store-spec.js';
import { logger } from '../observability/log.js';
import { closedError, storeUnavailable, withDeadline } from './errors.js';
import { InvalidationListeners } from './invalidation.js';
import { assertEpochMs, assertKey, assertRecord, assertTtl, byCreation, decodeCompact, encodeCompact, storeExpiry } from './record.js';
import type { SessionRecord, SessionStore } from './types.js';

export type { RedisNode };

export type RedisConnection =
  | { url: string }
  | { nodes: RedisNode[]; username?: string; password?: string; tls?: boolean }
  | { sentinels: RedisNode[]; name: string; username?: string; password?: string; sentinelPassword?: string; tls?: boolean }
  /** A client you own: the store uses it (and a duplicate for invalidation messages) but never closes it. */
  | { client: Redis | Cluster };

export interface RedisStoreOptions {
  /** Prefix of every key and of the invalidation channel. Default `tessera:`. */
  prefix?: string;
}

/** How long a call waits for a first connection, and how long any call may take. */
const connectTimeoutMs = 2000;
const commandTimeoutMs = 1500;
const callDeadlineMs = 2500;

const clientOptions: RedisOptions = {
  connectTimeout: connectTimeoutMs,
  commandTimeout: commandTimeoutMs,
  maxRetriesPerRequest: 1,
  // While disconnected, fail at once instead of queueing (a queued write could land long after
  // its caller was told it failed). The first connection is awaited in `connected()` below.
  enableOfflineQueue: false,
  retryStrategy: (times) => Math.min(times * 200, 2000),
};

function createClient(connection: Exclude<RedisConnection, { client: Redis | Cluster }>): Redis | Cluster {
  if ('url' in connection) return new Redis(connection.url, clientOptions);
  const tls = 'tls' in connection && connection.tls === true ? { tls: {} } : {};
  if ('nodes' in connection) {
    const options: ClusterOptions = {
      enableOfflineQueue: false,
      clusterRetryStrategy: (times) => Math.min(times * 200, 2000),
      slotsRefreshTimeout: connectTimeoutMs,
      redisOptions: {
        ...clientOptions,
        ...tls,
        ...(connection.username === undefined ? {} : { username: connection.username }),
        ...(connection.password === undefined ? {} : { password: connection.password }),
      },
    };
    return new Cluster(connection.nodes, options);
  }
  return new Redis({
    ...clientOptions,
    ...tls,
    sentinels: connection.sentinels,
    name: connection.name,
    ...(connection.username === undefined ? {} : { username: connection.username }),
    ...(connection.password === undefined ? {} : { password: connection.password }),
    ...(connection.sentinelPassword === undefined ? {} : { sentinelPassword: connection.sentinelPassword }),
  });
}

interface Script {
  lua: string;
  sha: string;
}

function script(lua: string): Script {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/** KEYS[1] session; ARGV now, idleExpiresAt, lastSeenAt, now + ttl. Returns {json, new expiry} or nil. */
const touchScript = script(`
local v = redis.call('GET', KEYS[1])
if not v then return false end
local i, a, p = string.match(v, '^1|(%d+)|%d+|(%d+)|()')
if not p then return false end
local now = tonumber(ARGV[1])
if tonumber(i) <= now or tonumber(a) <= now then return false end
local expires = math.min(tonumber(ARGV[4]), tonumber(ARGV[2]), tonumber(a))
local px = expires - now
if px < 1 then px = 1 end
redis.call('SET', KEYS[1], '1|' .. ARGV[2] .. '|' .. ARGV[3] .. '|' .. a .. '|' .. string.sub(v, p), 'PX', string.format('%d', px))
return {string.sub(v, p), string.format('%d', expires)}
`);

/**
 * KEYS[1] index hash; ARGV member, member expiry, now. Adds the member, prunes long-expired ones
 * once the hash is big enough to matter, and raises the hash's TTL to cover the new member.
 */
const indexAddScript = script(`
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local now = tonumber(ARGV[3])
if redis.call('HLEN', KEYS[1]) > 16 then
  local all = redis.call('HGETALL', KEYS[1])
  for j = 1, #all, 2 do
    if tonumber(all[j + 1]) + 60000 <= now then redis.call('HDEL', KEYS[1], all[j]) end
  end
end
local want = tonumber(ARGV[2]) - now
if want < 1 then want = 1 end
if redis.call('PTTL', KEYS[1]) < want then redis.call('PEXPIRE', KEYS[1], string.format('%d', want)) end
return 1
`);

/** KEYS[1] session; ARGV field ('u' or 'd'), value. Deletes the record only if it still has that owner. */
const deleteOwnedScript = script(`
local v = redis.call('GET', KEYS[1])
if not v then return false end
local p = string.find(v, '{', 1, true)
if not p then return false end
local ok, r = pcall(cjson.decode, string.sub(v, p))
if not ok or type(r) ~= 'table' or r[ARGV[1]] ~= ARGV[2] then return false end
redis.call('DEL', KEYS[1])
return v
`);

const headerPattern = /^1\|(\d+)\|(\d+)\|(\d+)\|/;

function encodeValue(record: SessionRecord): string {
  return `1|${record.idleExpiresAt}|${record.lastSeenAt}|${record.absoluteExpiresAt}|${encodeCompact(record)}`;
}

function decodeValue(value: string): SessionRecord | undefined {
  const header = headerPattern.exec(value);
  if (header === null) return undefined;
  return decodeCompact(value.slice(header[0].length), {
    idleExpiresAt: Number(header[1]),
    lastSeenAt: Number(header[2]),
    absoluteExpiresAt: Number(header[3]),
  });
}

function isLive(record: SessionRecord, now: number): boolean {
  return record.idleExpiresAt > now && record.absoluteExpiresAt > now;
}

export function redisStore(connection: RedisConnection, options: RedisStoreOptions = {}): SessionStore {
  const prefix = options.prefix ?? 'tessera:';
  if (typeof prefix !== 'string') throw new TypeError('"prefix" must be a string');
  const owned = !('client' in connection);
  const client = 'client' in connection ? connection.client : createClient(connection);
  const name = client instanceof Cluster ? 'redis-cluster' : 'redis';

  const sessionKey = (key: string) => `${prefix}s:${key}`;
  const userKey = (sub: string) => `${prefix}u:${sub}`;
  const sidKey = (sid: string) => `${prefix}d:${sid}`;
  const onceKey = (key: string) => `${prefix}o:${key}`;
  const channel = `${prefix}invalidate`;

  let closed = false;
  let everReady = client.status === 'ready';
  let healthy = true;
  const onUp = () => {
    if (!healthy) logger.info('session store reconnected', { store: name });
    everReady = true;
    healthy = true;
  };
  const onDown = (err?: Error) => {
    if (healthy && !closed) logger.warn('session store connection lost', { store: name, error: err?.message ?? 'connection closed' });
    healthy = false;
  };
  const onClose = () => onDown();
  client.on('ready', onUp);
  client.on('error', onDown);
  client.on('close', onClose);

  let readyWait: Promise<void> | undefined;
  const waitForReady = () =>
    (readyWait ??= new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        client.removeListener('ready', onReady);
        client.removeListener('end', onEnd);
        readyWait = undefined;
        if (err === undefined) resolve();
        else reject(err);
      };
      const onReady = () => done();
      const onEnd = () => done(new Error('connection ended'));
      const timer = setTimeout(() => done(new Error(`not connected within ${connectTimeoutMs} ms`)), connectTimeoutMs);
      client.once('ready', onReady);
      client.once('end', onEnd);
    }));

  /** Resolves when commands can be sent; rejects at once during an outage, after ≤ 2 s at startup. */
  const connected = async (): Promise<void> => {
    if (closed) throw closedError(name);
    const status = client.status;
    if (status === 'ready') return;
    if (status === 'end') throw new Error('connection ended');
    if (status === 'wait') client.connect().catch(() => undefined);
    if (everReady && (status === 'reconnecting' || status === 'close')) throw new Error(`connection is down (${status})`);
    await waitForReady();
  };

  const run = async <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
    try {
      await connected();
      return await withDeadline(fn(), callDeadlineMs, name, operation);
    } catch (err) {
      throw storeUnavailable(name, operation, err);
    }
  };

  const evalScript = async (s: Script, key: string, args: Array<string | number>): Promise<unknown> => {
    try {
      return await client.evalsha(s.sha, 1, key, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return client.eval(s.lua, 1, key, ...args);
    }
  };
  const indexAdd = (index: string, key: string, expires: number, now: number) => evalScript(indexAddScript, index, [key, expires, now]);

  // Invalidation messages: published on deletes; a subscriber connection is opened only once
  // someone listens. After the subscriber reconnects, messages may have been missed: say so.
  const listeners = new InvalidationListeners();
  let subscriber: Redis | Cluster | undefined;
  const notify = (key: string | undefined) => listeners.notify(key);
  const publish = async (keys: string[]) => {
    if (keys.length === 0) return;
    try {
      await client.publish(channel, JSON.stringify(keys));
    } catch (err) {
      logger.warn('session invalidation not published', { store: name, error: String(err) });
    }
  };
  const subscribe = () => {
    const sub = client instanceof Cluster ? client.duplicate(undefined, { enableOfflineQueue: true }) : client.duplicate({ enableOfflineQueue: true });
    let missed = false;
    // ioredis re-subscribes after a reconnect only to channels whose SUBSCRIBE once succeeded; when
    // the first one failed (Redis down at start), subscribe again on every `ready` until one works.
    let subscription: 'none' | 'pending' | 'done' = 'none';
    const subscribeOnce = () => {
      subscription = 'pending';
      sub.subscribe(channel).then(
        () => (subscription = 'done'),
        (err: unknown) => {
          subscription = 'none';
          logger.warn('session invalidation subscribe failed; retrying on reconnect', { store: name, error: String(err) });
        },
      );
    };
    sub.on('error', () => (missed = true));
    sub.on('close', () => (missed = true));
    sub.on('ready', () => {
      if (missed) notify(undefined);
      missed = false;
      if (subscription === 'none' && !closed) subscribeOnce();
    });
    sub.on('message', (_channel: string, message: string) => {
      let keys: unknown;
      try {
        keys = JSON.parse(message);
      } catch {
        return;
      }
      if (Array.isArray(keys)) for (const key of keys) if (typeof key === 'string') notify(key);
    });
    subscribeOnce();
    return sub;
  };

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
        const old = await evalScript(deleteOwnedScript, sessionKey(key), [field, value]);
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
    await publish(deleted);
    return count;
  };

  return {
    get(key) {
      return run('get', async () => {
        const value = await client.get(sessionKey(key));
        if (value === null) return undefined;
        const record = decodeValue(value);
        if (record === undefined) {
          logger.error('session store: unreadable record ignored', { store: name });
          return undefined;
        }
        return isLive(record, Date.now()) ? record : undefined;
      });
    },
    async set(key, record, ttlMs) {
      assertKey(key);
      assertRecord(record);
      assertTtl(ttlMs);
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
      assertEpochMs(lastSeenAt, 'lastSeenAt');
      assertEpochMs(idleExpiresAt, 'idleExpiresAt');
      assertTtl(ttlMs);
      await run('touch', async () => {
        const now = Date.now();
        const result = await evalScript(touchScript, sessionKey(key), [now, idleExpiresAt, lastSeenAt, now + Math.floor(ttlMs)]);
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
        await publish([key]);
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
      assertKey(key);
      assertTtl(ttlMs);
      return run('putOnce', async () => (await client.set(onceKey(key), '1', 'PX', Math.max(1, Math.floor(ttlMs)), 'NX')) === 'OK');
    },
    onInvalidate(listener) {
      listeners.add(listener);
      if (subscriber === undefined && !closed) subscriber = subscribe();
    },
    async ping() {
      await run('ping', () => client.ping());
    },
    async close() {
      if (closed) return;
      closed = true;
      const quit = async (c: Redis | Cluster) => {
        try {
          await withDeadline(c.quit(), 1000, name, 'close');
        } catch {
          c.disconnect();
        }
      };
      await Promise.all([subscriber === undefined ? undefined : quit(subscriber), owned ? quit(client) : undefined]);
      if (!owned) {
        client.removeListener('ready', onUp);
        client.removeListener('error', onDown);
        client.removeListener('close', onClose);
      }
    },
  };
}
