import type { NewSession, SessionBindingHashes, SessionRecord, SessionStore } from './types.js';

/*
 * Helpers shared by the stores: argument checks (programmer mistakes throw TypeError, naming the
 * argument), the compact JSON form records are kept in, and the one expiry rule every store follows.
 */

export function assertKey(value: unknown, name = 'key'): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`"${name}" must be a non-empty string`);
  if (value.length > 1024) throw new TypeError(`"${name}" must be at most 1024 characters`);
}

export function assertTtl(value: unknown, name = 'ttlMs'): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`"${name}" must be a finite number of milliseconds`);
}

/** Times the stores compare and rewrite must be whole epoch milliseconds. */
export function assertEpochMs(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`"${name}" must be a whole number of epoch milliseconds`);
  }
}

function optionalString(record: Record<string, unknown>, name: string): void {
  const value = record[name];
  if (value !== undefined && typeof value !== 'string') throw new TypeError(`"record.${name}" must be a string when present`);
}

function stringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isBinding(value: unknown): value is SessionBindingHashes {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const binding = value as Record<string, unknown>;
  return Object.keys(binding).every((name) => (name === 'userAgent' || name === 'ipPrefix') && (binding[name] === undefined || typeof binding[name] === 'string'));
}

function copyBinding(binding: SessionBindingHashes): SessionBindingHashes {
  const copy: SessionBindingHashes = {};
  if (binding.userAgent !== undefined) copy.userAgent = binding.userAgent;
  if (binding.ipPrefix !== undefined) copy.ipPrefix = binding.ipPrefix;
  return copy;
}

export function assertRecord(value: unknown): asserts value is NewSession {
  if (typeof value !== 'object' || value === null) throw new TypeError('"record" must be an object');
  const record = value as Record<string, unknown>;
  if (typeof record.sub !== 'string' || record.sub.length === 0) throw new TypeError('"record.sub" must be a non-empty string');
  if (record.sid !== undefined && (typeof record.sid !== 'string' || record.sid.length === 0)) {
    throw new TypeError('"record.sid" must be a non-empty string when present');
  }
  if (!stringArray(record.roles)) throw new TypeError('"record.roles" must be an array of strings');
  if (record.amr !== undefined && !stringArray(record.amr)) throw new TypeError('"record.amr" must be an array of strings when present');
  for (const name of ['tid', 'scope', 'acr']) optionalString(record, name);
  if (record.authTime !== undefined && (typeof record.authTime !== 'number' || !Number.isSafeInteger(record.authTime) || record.authTime < 0)) {
    throw new TypeError('"record.authTime" must be a whole number of epoch seconds when present');
  }
  optionalString(record, 'userAgent');
  if (record.binding !== undefined && !isBinding(record.binding)) throw new TypeError('"record.binding" must be an object of strings (userAgent, ipPrefix) when present');
  if (typeof record.accessTokenExpiresAt !== 'number' || !Number.isFinite(record.accessTokenExpiresAt)) {
    throw new TypeError('"record.accessTokenExpiresAt" must be a number (epoch seconds)');
  }
  for (const name of ['createdAt', 'lastSeenAt', 'idleExpiresAt', 'absoluteExpiresAt']) assertEpochMs(record[name], `record.${name}`);
  if (typeof record.sealedTokens !== 'string') throw new TypeError('"record.sealedTokens" must be a string');
}

/**
 * `store` with the argument checks every store makes before it does anything: the same checks,
 * the same `TypeError`s (as rejections), in one place.
 */
export function withArgumentChecks<S extends SessionStore>(store: S): S {
  return {
    ...store,
    async getTokens(key: string) {
      assertKey(key);
      return store.getTokens(key);
    },
    async set(key: string, record: NewSession, ttlMs: number) {
      assertKey(key);
      assertRecord(record);
      assertTtl(ttlMs);
      return store.set(key, record, ttlMs);
    },
    async touch(key: string, lastSeenAt: number, idleExpiresAt: number, ttlMs: number) {
      assertEpochMs(lastSeenAt, 'lastSeenAt');
      assertEpochMs(idleExpiresAt, 'idleExpiresAt');
      assertTtl(ttlMs);
      return store.touch(key, lastSeenAt, idleExpiresAt, ttlMs);
    },
    async putOnce(key: string, ttlMs: number) {
      assertKey(key);
      assertTtl(ttlMs);
      return store.putOnce(key, ttlMs);
    },
  };
}

/**
 * When a store may forget a record: the caller's TTL, but never later than the record's own idle
 * or absolute expiry — past those, `get` answers `undefined` anyway.
 */
export function storeExpiry(now: number, ttlMs: number, idleExpiresAt: number, absoluteExpiresAt: number): number {
  return Math.min(now + Math.floor(ttlMs), idleExpiresAt, absoluteExpiresAt);
}

/** A normalized deep copy without the tokens: optional fields that are undefined are left out, arrays copied. */
export function copyRecord(record: SessionRecord): SessionRecord {
  const copy: SessionRecord = {
    sub: record.sub,
    roles: [...record.roles],
    accessTokenExpiresAt: record.accessTokenExpiresAt,
    createdAt: record.createdAt,
    lastSeenAt: record.lastSeenAt,
    idleExpiresAt: record.idleExpiresAt,
    absoluteExpiresAt: record.absoluteExpiresAt,
  };
  if (record.sid !== undefined) copy.sid = record.sid;
  if (record.tid !== undefined) copy.tid = record.tid;
  if (record.scope !== undefined) copy.scope = record.scope;
  if (record.amr !== undefined) copy.amr = [...record.amr];
  if (record.acr !== undefined) copy.acr = record.acr;
  if (record.authTime !== undefined) copy.authTime = record.authTime;
  if (record.userAgent !== undefined) copy.userAgent = record.userAgent;
  if (record.binding !== undefined) copy.binding = copyBinding(record.binding);
  return copy;
}

/**
 * The record as stored, minus the three times that `touch` rewrites or that stores keep beside it
 * (lastSeenAt, idleExpiresAt, absoluteExpiresAt), and minus the sealed tokens, which every store
 * keeps apart. One-letter names keep Redis memory small. `k` (the sealed tokens) is only in records
 * written before the tokens moved out; it is read by `legacySealedTokens`, never by `decodeCompact`.
 */
interface CompactRecord {
  u: string;
  d?: string;
  r: string[];
  t?: string;
  s?: string;
  m?: string[];
  c?: string;
  /** authTime (epoch seconds). */
  a?: number;
  /** userAgent (the sign-in User-Agent, for the user's list of sessions). */
  g?: string;
  /** binding hashes: u = user agent, p = IP prefix. */
  b?: { u?: string; p?: string };
  x: number;
  n: number;
  k?: string;
}

export interface RecordTimes {
  lastSeenAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
}

export function encodeCompact(record: SessionRecord): string {
  const compact: CompactRecord = { u: record.sub, r: record.roles, x: record.accessTokenExpiresAt, n: record.createdAt };
  if (record.sid !== undefined) compact.d = record.sid;
  if (record.tid !== undefined) compact.t = record.tid;
  if (record.scope !== undefined) compact.s = record.scope;
  if (record.amr !== undefined) compact.m = record.amr;
  if (record.acr !== undefined) compact.c = record.acr;
  if (record.authTime !== undefined) compact.a = record.authTime;
  if (record.userAgent !== undefined) compact.g = record.userAgent;
  if (record.binding !== undefined) {
    const b: { u?: string; p?: string } = {};
    if (record.binding.userAgent !== undefined) b.u = record.binding.userAgent;
    if (record.binding.ipPrefix !== undefined) b.p = record.binding.ipPrefix;
    compact.b = b;
  }
  return JSON.stringify(compact);
}

/** The stored record, or `undefined` when the text is not a record this code wrote. */
export function decodeCompact(json: string, times: RecordTimes): SessionRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const c = value as Partial<Record<keyof CompactRecord, unknown>>;
  if (typeof c.u !== 'string' || !stringArray(c.r) || typeof c.x !== 'number' || typeof c.n !== 'number') {
    return undefined;
  }
  const record: SessionRecord = {
    sub: c.u,
    roles: c.r,
    accessTokenExpiresAt: c.x,
    createdAt: c.n,
    lastSeenAt: times.lastSeenAt,
    idleExpiresAt: times.idleExpiresAt,
    absoluteExpiresAt: times.absoluteExpiresAt,
  };
  if (typeof c.d === 'string') record.sid = c.d;
  if (typeof c.t === 'string') record.tid = c.t;
  if (typeof c.s === 'string') record.scope = c.s;
  if (stringArray(c.m)) record.amr = c.m;
  if (typeof c.c === 'string') record.acr = c.c;
  if (typeof c.a === 'number' && Number.isSafeInteger(c.a)) record.authTime = c.a;
  if (typeof c.g === 'string') record.userAgent = c.g;
  if (typeof c.b === 'object' && c.b !== null) {
    const b = c.b as { u?: unknown; p?: unknown };
    const binding: SessionBindingHashes = {};
    if (typeof b.u === 'string') binding.userAgent = b.u;
    if (typeof b.p === 'string') binding.ipPrefix = b.p;
    record.binding = binding;
  }
  return record;
}

/** The sealed tokens a record written before they moved out still carries (`k`), else `undefined`. */
export function legacySealedTokens(json: string): string | undefined {
  if (!json.includes('"k":')) return undefined;
  try {
    const value: unknown = JSON.parse(json);
    const k = typeof value === 'object' && value !== null ? (value as { k?: unknown }).k : undefined;
    return typeof k === 'string' ? k : undefined;
  } catch {
    return undefined;
  }
}

/** Oldest first, so listings are stable across stores. */
export function byCreation(a: { key: string; record: SessionRecord }, b: { key: string; record: SessionRecord }): number {
  return a.record.createdAt - b.record.createdAt || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}
