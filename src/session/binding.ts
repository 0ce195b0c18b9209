import { createHmac, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { SessionBindingHashes } from '../stores/types.js';

export type BindingMode = 'off' | 'log' | 'revoke';
export type BindingSignal = 'user-agent' | 'ip-prefix';

/** What a request tells about its client; `RequestFacts` fits. Read only when binding is on. */
export interface ClientFacts {
  header(name: string): string | null | undefined;
  /** The client's address (the socket peer, or behind `TESSERA_TRUSTED_PROXIES` the forwarded client). */
  clientAddress?(): string | undefined;
}

/** The most of a `User-Agent` a session keeps for the user's list of sessions. */
export const maxUserAgentLength = 200;

/** The sign-in `User-Agent` as shown in the list of sessions: control characters removed, at most 200 characters. */
export function displayUserAgent(value: string | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  // eslint-disable-next-line no-control-regex
  const clean = value.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, maxUserAgentLength);
  return clean === '' ? undefined : clean;
}

/**
 * Session binding (Mosaic's cookie recommendations): the client properties seen at sign-in are
 * kept as HMAC-SHA-256 keyed with the session id itself, so the store — which holds only
 * SHA-256(id) — can neither read them back nor test guesses (an IP prefix has few values).
 * Each request of a bound session recomputes them from the cookie it carries and compares.
 */
export class SessionBinding {
  readonly mode: BindingMode;
  readonly signals: readonly BindingSignal[];
  /**
   * The raw values that last matched, per stored binding (the object the session cache holds):
   * a session's next request from the same client costs a string comparison, not an HMAC per signal.
   */
  #matched = new WeakMap<SessionBindingHashes, string>();

  constructor(mode: BindingMode, signals: readonly BindingSignal[]) {
    this.mode = mode;
    this.signals = signals;
  }

  /** The hashes to store for a new session, or undefined when binding is off. */
  hashesFor(sessionId: string, client: ClientFacts | undefined): SessionBindingHashes | undefined {
    if (this.mode === 'off' || client === undefined) return undefined;
    const hashes: SessionBindingHashes = {};
    for (const signal of this.signals) {
      const value = signalValue(signal, client);
      if (value === undefined) continue;
      if (signal === 'user-agent') hashes.userAgent = hash(sessionId, signal, value);
      else hashes.ipPrefix = hash(sessionId, signal, value);
    }
    return hashes;
  }

  /**
   * The signals whose value differs from the one seen at sign-in. A signal not recorded at sign-in
   * (binding turned on later, another signal list, no address then) is not compared.
   */
  mismatches(sessionId: string, stored: SessionBindingHashes | undefined, client: ClientFacts | undefined): BindingSignal[] {
    if (this.mode === 'off' || stored === undefined || client === undefined) return [];
    const values = this.signals.map((signal) => signalValue(signal, client));
    const seen = values.join('\0');
    if (this.#matched.get(stored) === seen) return [];
    const out: BindingSignal[] = [];
    this.signals.forEach((signal, i) => {
      const expected = signal === 'user-agent' ? stored.userAgent : stored.ipPrefix;
      if (expected === undefined) return;
      const value = values[i];
      if (value === undefined || !sameHash(expected, hash(sessionId, signal, value))) out.push(signal);
    });
    if (out.length === 0) this.#matched.set(stored, seen);
    return out;
  }
}

function signalValue(signal: BindingSignal, client: ClientFacts): string | undefined {
  if (signal === 'user-agent') return client.header('user-agent') ?? '';
  const address = client.clientAddress?.();
  return address === undefined ? undefined : ipPrefix(address);
}

function hash(sessionId: string, signal: BindingSignal, value: string): string {
  return createHmac('sha256', sessionId).update(`${signal}\0${value}`).digest().subarray(0, 16).toString('base64url');
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The network an address belongs to: its /24 for IPv4 (`203.0.113`), its /64 for IPv6 (the first
 * four groups, canonical), an IPv4-mapped IPv6 address read as IPv4. Anything else is kept as given.
 */
export function ipPrefix(address: string): string {
  let a = address.trim();
  const zone = a.indexOf('%');
  if (zone !== -1) a = a.slice(0, zone);
  if (a.toLowerCase().startsWith('::ffff:') && isIP(a.slice(7)) === 4) a = a.slice(7);
  const version = isIP(a);
  if (version === 4) return a.split('.').slice(0, 3).join('.');
  if (version !== 6) return a;
  return expandIpv6(a).slice(0, 4).map((group) => group.toString(16)).join(':');
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a trailing dotted IPv4 part converted). */
function expandIpv6(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [b1, b2, b3, b4] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((b1 << 8) | b2).toString(16)}:${((b3 << 8) | b4).toString(16)}`;
  }
  const [head = '', tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const first = parse(head);
  if (tail === undefined) return first;
  const last = parse(tail);
  return [...first, ...new Array<number>(8 - first.length - last.length).fill(0), ...last];
}
