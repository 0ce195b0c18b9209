import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import type { KeyRing } from '../keys/index.js';
import { clearCookie, readCookiesWithPrefix, serializeCookie, type CookieOptions } from '../http/cookies.js';

/**
 * The login transaction: PKCE verifier, `state` and `nonce` for one attempt, bound to the
 * browser by a sealed, short-lived cookie named after the attempt's state, so several tabs can
 * log in at once. At most `maxPending` are kept; older ones are cleared when a new one starts.
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
  createdAt: number;
}

export const transactionTtlSeconds = 600;
const maxPending = 3;
const purpose = 'txn';

export function newTransaction(returnTo: string, silent: boolean, now = Date.now(), acr?: string[]): Transaction {
  return {
    ...(acr !== undefined && acr.length > 0 ? { acr } : {}),
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

  constructor(keys: KeyRing, secure: boolean) {
    this.prefix = secure ? '__Host-tessera-txn-' : 'tessera-txn-';
    this.#keys = keys;
    // Lax: the callback is a top-level navigation from the identity provider.
    this.#options = { secure, sameSite: 'Lax' };
  }

  nameFor(state: string): string {
    return this.prefix + state.slice(0, 16);
  }

  /** Set-Cookie values that store `txn` and clear the oldest pending attempts beyond the bound. */
  begin(txn: Transaction, cookieHeader: string | undefined, now = Date.now()): string[] {
    const pending = readCookiesWithPrefix(cookieHeader, this.prefix)
      .map(([name, value]) => ({ name, txn: this.#open(value, now) }))
      .sort((a, b) => (b.txn?.createdAt ?? 0) - (a.txn?.createdAt ?? 0));
    const stale = pending.filter((p, i) => p.txn === undefined || i >= maxPending - 1);
    return [
      serializeCookie(this.nameFor(txn.state), this.#keys.seal(JSON.stringify(txn), purpose), { ...this.#options, maxAge: transactionTtlSeconds }),
      ...stale.map((p) => clearCookie(p.name, this.#options)),
    ];
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
      return now - txn.createdAt <= transactionTtlSeconds * 1000 ? txn : undefined;
    } catch {
      return undefined;
    }
  }
}
