import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import type { KeyRing } from '../keys/index.js';
import { clearCookie, readCookiesWithPrefix, serializeCookie, type CookieOptions } from '../lib/cookies.js';
import { safeReturnTo } from '../lib/return-to.js';

/**
 * The login transaction: PKCE verifier, `state` and `nonce` for one attempt, bound to the
 * browser by a sealed, short-lived cookie named after the attempt's state, so several tabs can
 * log in at once. At most `maxPending` are kept; older ones are cleared when a new one starts.
 *
 * Size: each cookie stays under 4096 bytes (browsers drop larger ones) and `returnTo` gets a byte
 * budget, so `maxPending` of them plus a session cookie stay far below a 16 KB header limit.
 */
export interface Transaction {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
  /** This attempt was a silent (`prompt=none`) renewal. */
  silent: boolean;
  /** The `acr_values` requested, in order; the ID token's `acr` must be one of them. */
  acr?: string[] | undefined;
  /**
   * The `max_age` requested (whole seconds, 0..`maxMaxAge`); the ID token's `auth_time` is then
   * required and must be at most this old. Absent when none was requested.
   */
  maxAge?: number | undefined;
  createdAt: number;
}

export const transactionTtlSeconds = 600;
/** Pending transactions a browser keeps; a new login clears the oldest beyond this. */
export const maxPending = 3;
const purpose = 'txn';
/** Budget of the (ASCII, percent-encoded) `returnTo`; a longer one falls back to `/`. About 1.8 KB of cookie. */
export const maxReturnToBytes = 1024;
/** The most a browser stores for one cookie (name, value and attributes). */
const maxCookieBytes = 4096;
/** The largest `max_age` a login accepts: one year, in seconds (8 digits in the cookie at most). */
export const maxMaxAge = 31_536_000;

/** Whether `value` is a `max_age` a transaction can carry: a whole number of seconds, 0..`maxMaxAge`. */
export function isMaxAge(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= maxMaxAge;
}

export function newTransaction(returnTo: string, silent: boolean, now = Date.now(), acr?: string[], maxAge?: number): Transaction {
  if (maxAge !== undefined && !isMaxAge(maxAge)) throw new TypeError(`"maxAge" must be a whole number of seconds from 0 to ${maxMaxAge}`);
  return {
    ...(acr !== undefined && acr.length > 0 ? { acr } : {}),
    ...(maxAge !== undefined ? { maxAge } : {}),
    state: randomBytes(32).toString('base64url'),
    nonce: randomBytes(32).toString('base64url'),
    verifier: client.randomPKCECodeVerifier(),
    returnTo,
    silent,
    createdAt: now,
  };
}

export class TransactionCookies {
  readonly prefix: string;
  #keys: KeyRing;
  #options: Omit<CookieOptions, 'maxAge'>;

  /** `name` is the session cookie's base name (`TESSERA_COOKIE_NAME`): apps sharing a host keep their logins apart. */
  constructor(keys: KeyRing, secure: boolean, name = 'tessera') {
    this.prefix = secure ? `__Host-${name}-txn-` : `${name}-txn-`;
    this.#keys = keys;
    // Lax: the callback is a top-level navigation from the identity provider.
    this.#options = { secure, sameSite: 'Lax' };
  }

  nameFor(state: string): string {
    return this.prefix + state.slice(0, 16);
  }

  /** Set-Cookie values that store `txn` and clear the oldest pending attempts beyond the bound. */
  begin(txn: Transaction, cookieHeader: string | undefined, now = Date.now()): string[] {
    return [this.#serialize(txn), ...this.#stale(cookieHeader, now).map((name) => clearCookie(name, this.#options))];
  }

  /**
   * The pending transaction cookies to clear. Only names this class could have set count, and
   * only the first `maxPending` distinct ones are opened: a request carrying hundreds of cookies
   * costs at most `maxPending` unseals and gets at most `maxPending` clearing headers back.
   */
  #stale(cookieHeader: string | undefined, now: number): string[] {
    const names = new Map<string, string>();
    for (const [name, value] of readCookiesWithPrefix(cookieHeader, this.prefix)) {
      if (names.size >= maxPending) break;
      if (this.#isOurName(name) && !names.has(name)) names.set(name, value);
    }
    const pending = [...names].map(([name, value]) => ({ name, txn: this.#open(value, now) }))
      .sort((a, b) => (b.txn?.createdAt ?? 0) - (a.txn?.createdAt ?? 0));
    return pending.filter((p, i) => p.txn === undefined || i >= maxPending - 1).map((p) => p.name);
  }

  /**
   * Whether this browser holds a silent attempt that never came back (the IdP kept it, the user
   * left): then the next login is interactive, so silent tries cannot repeat while one is pending.
   */
  hasPendingSilent(cookieHeader: string | undefined, now = Date.now()): boolean {
    let seen = 0;
    for (const [name, value] of readCookiesWithPrefix(cookieHeader, this.prefix)) {
      if (!this.#isOurName(name)) continue;
      if (this.#open(value, now)?.silent === true) return true;
      if (++seen >= maxPending) break;
    }
    return false;
  }

  #isOurName(name: string): boolean {
    return name.length === this.prefix.length + 16 && /^[A-Za-z0-9_-]{16}$/.test(name.slice(this.prefix.length));
  }

  /** The cookie holding `txn`, within the size budget: an oversized or unsafe `returnTo` becomes `/`. */
  #serialize(txn: Transaction): string {
    const returnTo = safeReturnTo(txn.returnTo);
    const fitting = Buffer.byteLength(returnTo) <= maxReturnToBytes ? returnTo : '/';
    let cookie = this.#cookieFor({ ...txn, returnTo: fitting });
    if (Buffer.byteLength(cookie) > maxCookieBytes && fitting !== '/') cookie = this.#cookieFor({ ...txn, returnTo: '/' });
    // Only an `acr` list far beyond what login accepts gets here (`maxAge` adds at most 18 bytes of JSON):
    // refuse it rather than set a cookie browsers drop.
    if (Buffer.byteLength(cookie) > maxCookieBytes) throw new TypeError(`the login transaction does not fit in a ${maxCookieBytes}-byte cookie`);
    return cookie;
  }

  #cookieFor(txn: Transaction): string {
    return serializeCookie(this.nameFor(txn.state), this.#keys.seal(JSON.stringify(txn), purpose), { ...this.#options, maxAge: transactionTtlSeconds });
  }

  /** The transaction the callback's `state` belongs to, if this browser holds it and it is fresh. */
  find(state: string, cookieHeader: string | undefined, now = Date.now()): Transaction | undefined {
    const name = this.nameFor(state);
    const match = readCookiesWithPrefix(cookieHeader, name).find(([n]) => n === name);
    const txn = match ? this.#open(match[1], now) : undefined;
    return txn?.state === state ? txn : undefined;
  }

  clear(state: string): string {
    return clearCookie(this.nameFor(state), this.#options);
  }

  #open(value: string, now: number): Transaction | undefined {
    const json = this.#keys.open(value, purpose);
    if (json === undefined) return undefined;
    try {
      const txn = JSON.parse(json) as Transaction;
      if (txn.maxAge !== undefined && !isMaxAge(txn.maxAge)) return undefined;
      return now - txn.createdAt <= transactionTtlSeconds * 1000 ? txn : undefined;
    } catch {
      return undefined;
    }
  }
}
