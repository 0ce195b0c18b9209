import { closedError } from './errors.js';
import { byCreation, copyRecord, storeExpiry, withArgumentChecks } from './record.js';
import type { SessionRecord, SessionStore } from './types.js';

export interface MemoryStoreOptions {
  /** How often expired entries are swept (they are also ignored and dropped on read). Default 60 s. */
  sweepIntervalMs?: number;
}

interface Entry {
  record: SessionRecord;
  /** Epoch ms after which the entry is dead: min(set time + TTL, idle expiry, absolute expiry). */
  expiresAt: number;
}

/**
 * Sessions in this process only: for tests and single-process development. Nothing survives a
 * restart and nothing is shared between instances.
 */
export function memoryStore(options: MemoryStoreOptions = {}): SessionStore {
  const entries = new Map<string, Entry>();
  /** The sealed tokens, apart from the records (as every store keeps them); same keys as `entries`. */
  const tokens = new Map<string, string>();
  const bySub = new Map<string, Set<string>>();
  const bySid = new Map<string, Set<string>>();
  const once = new Map<string, number>();
  let closed = false;

  const addIndex = (index: Map<string, Set<string>>, value: string, key: string) => {
    let keys = index.get(value);
    if (keys === undefined) index.set(value, (keys = new Set()));
    keys.add(key);
  };
  const removeIndex = (index: Map<string, Set<string>>, value: string, key: string) => {
    const keys = index.get(value);
    if (keys === undefined) return;
    keys.delete(key);
    if (keys.size === 0) index.delete(value);
  };
  /** Removes the entry; returns whether it was still live. */
  const remove = (key: string, now: number): boolean => {
    const entry = entries.get(key);
    if (entry === undefined) return false;
    entries.delete(key);
    tokens.delete(key);
    removeIndex(bySub, entry.record.sub, key);
    if (entry.record.sid !== undefined) removeIndex(bySid, entry.record.sid, key);
    return entry.expiresAt > now;
  };
  /** The entry when live; a dead one is dropped on the way. */
  const live = (key: string, now: number): Entry | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > now) return entry;
    remove(key, now);
    return undefined;
  };
  const removeAll = (keys: Set<string> | undefined): number => {
    const now = Date.now();
    let count = 0;
    for (const key of [...(keys ?? [])]) if (remove(key, now)) count++;
    return count;
  };
  const sweep = () => {
    const now = Date.now();
    for (const [key, entry] of entries) if (entry.expiresAt <= now) remove(key, now);
    for (const [key, expiresAt] of once) if (expiresAt <= now) once.delete(key);
  };
  const timer = setInterval(sweep, options.sweepIntervalMs ?? 60_000);
  timer.unref();

  const open = () => {
    if (closed) throw closedError('memory');
  };

  return withArgumentChecks<SessionStore>({
    async get(key) {
      open();
      const entry = live(key, Date.now());
      return entry === undefined ? undefined : copyRecord(entry.record);
    },
    async getTokens(key) {
      open();
      return live(key, Date.now()) === undefined ? undefined : tokens.get(key);
    },
    async set(key, record, ttlMs) {
      open();
      const now = Date.now();
      remove(key, now);
      const copy = copyRecord(record);
      entries.set(key, { record: copy, expiresAt: storeExpiry(now, ttlMs, copy.idleExpiresAt, copy.absoluteExpiresAt) });
      tokens.set(key, record.sealedTokens);
      addIndex(bySub, copy.sub, key);
      if (copy.sid !== undefined) addIndex(bySid, copy.sid, key);
    },
    async touch(key, lastSeenAt, idleExpiresAt, ttlMs) {
      open();
      const now = Date.now();
      const entry = live(key, now);
      if (entry === undefined) return;
      entry.record.lastSeenAt = lastSeenAt;
      entry.record.idleExpiresAt = idleExpiresAt;
      entry.expiresAt = storeExpiry(now, ttlMs, idleExpiresAt, entry.record.absoluteExpiresAt);
    },
    async delete(key) {
      open();
      return remove(key, Date.now());
    },
    async deleteByUser(sub) {
      open();
      return removeAll(bySub.get(sub));
    },
    async deleteBySid(sid) {
      open();
      return removeAll(bySid.get(sid));
    },
    async listByUser(sub) {
      open();
      const now = Date.now();
      const out: Array<{ key: string; record: SessionRecord }> = [];
      for (const key of [...(bySub.get(sub) ?? [])]) {
        const entry = live(key, now);
        if (entry !== undefined) out.push({ key, record: copyRecord(entry.record) });
      }
      return out.sort(byCreation);
    },
    async putOnce(key, ttlMs) {
      open();
      const now = Date.now();
      const existing = once.get(key);
      if (existing !== undefined && existing > now) return false;
      once.set(key, now + ttlMs);
      return true;
    },
    async ping() {
      open();
    },
    async close() {
      closed = true;
      clearInterval(timer);
      entries.clear();
      tokens.clear();
      bySub.clear();
      bySid.clear();
      once.clear();
    },
  });
}
