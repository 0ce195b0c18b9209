import type { Session } from '../session/manager.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** A session as the sessions APIs show it (the user's own list, the admin API): times in ISO 8601. */
export function sessionJson(s: Session) {
  return {
    ref: s.ref,
    createdAt: iso(s.createdAt),
    lastSeenAt: iso(s.lastSeenAt),
    idleExpiresAt: iso(s.idleExpiresAt),
    absoluteExpiresAt: iso(s.absoluteExpiresAt),
    userAgent: s.userAgent ?? null,
    acr: s.acr ?? null,
    amr: s.amr ?? [],
  };
}
