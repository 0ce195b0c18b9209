/**
 * A session as a Redis string: `1|<idleExpiresAt>|<lastSeenAt>|<absoluteExpiresAt>|<json>`, the
 * three times (epoch ms) in front so `touch` rewrites them in Lua without re-encoding the JSON
 * (the compact form of `../record.ts`).
 */
import { decodeCompact, encodeCompact } from '../record.js';
import type { SessionRecord } from '../types.js';

const headerPattern = /^1\|(\d+)\|(\d+)\|(\d+)\|/;

export function encodeValue(record: SessionRecord): string {
  return `1|${record.idleExpiresAt}|${record.lastSeenAt}|${record.absoluteExpiresAt}|${encodeCompact(record)}`;
}

/** The record, or `undefined` when the value is not one this code wrote. */
export function decodeValue(value: string): SessionRecord | undefined {
  const header = headerPattern.exec(value);
  if (header === null) return undefined;
  return decodeCompact(value.slice(header[0].length), {
    idleExpiresAt: Number(header[1]),
    lastSeenAt: Number(header[2]),
    absoluteExpiresAt: Number(header[3]),
  });
}

export function isLive(record: SessionRecord, now: number): boolean {
  return record.idleExpiresAt > now && record.absoluteExpiresAt > now;
}
