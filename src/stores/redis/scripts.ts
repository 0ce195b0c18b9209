/**
 * The Lua scripts of the Redis store. Each touches one key, or a session and its tokens key, which
 * share a hash slot (`store.ts`), so none is cross-slot.
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from './connection.js';

export interface Script {
  lua: string;
  sha: string;
}

function script(lua: string): Script {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/** Runs `s` on `keys` by its SHA, sending the source once when the server does not know it yet. */
export async function evalScript(client: RedisClient, s: Script, keys: string | [string, string], args: Array<string | number>): Promise<unknown> {
  const list = typeof keys === 'string' ? [keys] : keys;
  try {
    return await client.evalsha(s.sha, list.length, ...list, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return client.eval(s.lua, list.length, ...list, ...args);
  }
}

/** KEYS[1] session, KEYS[2] its tokens; ARGV value, sealed tokens, px. Writes both with one TTL; returns the old session value or nil. */
export const setScript = script(`
local old = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return old
`);

/**
 * KEYS[1] session, KEYS[2] its tokens; ARGV now. When the session is live: {'t', tokens}, or
 * {'v', session value} for a session written before the tokens moved out (they are in its JSON).
 */
export const tokensScript = script(`
local v = redis.call('GET', KEYS[1])
if not v then return false end
local i, a = string.match(v, '^1|(%d+)|%d+|(%d+)|')
if not i then return false end
local now = tonumber(ARGV[1])
if tonumber(i) <= now or tonumber(a) <= now then return false end
local t = redis.call('GET', KEYS[2])
if t then return {'t', t} end
return {'v', v}
`);

/** KEYS[1] session, KEYS[2] its tokens. Deletes both; returns the old session value or nil. */
export const deleteScript = script(`
local v = redis.call('GET', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2])
return v
`);

/** KEYS[1] session, KEYS[2] its tokens; ARGV now, idleExpiresAt, lastSeenAt, now + ttl. Returns {json, new expiry} or nil. */
export const touchScript = script(`
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
redis.call('PEXPIRE', KEYS[2], string.format('%d', px))
return {string.sub(v, p), string.format('%d', expires)}
`);

/**
 * KEYS[1] index hash; ARGV member, member expiry, now. Adds the member, prunes long-expired ones
 * once the hash is big enough to matter, and raises the hash's TTL to cover the new member.
 */
export const indexAddScript = script(`
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

/** KEYS[1] session, KEYS[2] its tokens; ARGV field ('u' or 'd'), value. Deletes both only if the record still has that owner. */
export const deleteOwnedScript = script(`
local v = redis.call('GET', KEYS[1])
if not v then return false end
local p = string.find(v, '{', 1, true)
if not p then return false end
local ok, r = pcall(cjson.decode, string.sub(v, p))
if not ok or type(r) ~= 'table' or r[ARGV[1]] ~= ARGV[2] then return false end
redis.call('DEL', KEYS[1], KEYS[2])
return v
`);
