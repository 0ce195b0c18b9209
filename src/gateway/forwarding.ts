import { BlockList, isIP } from 'node:net';
import { parseCidr } from '../config/network.js';

/** The request's client as the gateway sees it: the address limits and logs go by, and whether its peer may speak for others. */
export interface Peer {
  /** The socket's remote address (IPv4-mapped IPv6 unwrapped). */
  address: string;
  /** The peer is one of `TESSERA_TRUSTED_PROXIES`: its `Forwarded`/`X-Forwarded-*` are kept. */
  trusted: boolean;
  /** The client: the peer itself, or — behind trusted proxies — the nearest untrusted hop of `X-Forwarded-For`. */
  client: string;
}

/**
 * Who may tell the gateway where a request came from. Forwarding headers (`Forwarded`,
 * `X-Forwarded-*`, `X-Real-IP`) are the client's own words unless the peer is a trusted proxy;
 * only then is the `X-Forwarded-For` chain kept and read for the client address.
 */
export class ForwardingPolicy {
  #trusted: BlockList | undefined;

  constructor(trustedProxies: readonly string[]) {
    if (trustedProxies.length === 0) return;
    const list = new BlockList();
    for (const entry of trustedProxies) {
      const cidr = parseCidr(entry);
      if (cidr === undefined) throw new TypeError(`"trustedProxies" entry "${entry}" is not an address or CIDR range`);
      list.addSubnet(cidr.address, cidr.prefix, cidr.family);
    }
    this.#trusted = list;
  }

  isTrusted(address: string): boolean {
    const version = isIP(address);
    return version !== 0 && this.#trusted !== undefined && this.#trusted.check(address, version === 4 ? 'ipv4' : 'ipv6');
  }

  /** `forwardedFor` is the client's `X-Forwarded-For` lines joined with ", " (or undefined). */
  peer(remoteAddress: string | undefined, forwardedFor: string | undefined): Peer {
    const address = unmap(remoteAddress ?? '');
    if (!this.isTrusted(address)) return { address, trusted: false, client: address };
    let client = address;
    if (forwardedFor !== undefined) {
      // Right to left: each trusted hop vouches for the one before it; the first untrusted hop is the client.
      const hops = forwardedFor.split(',');
      for (let i = hops.length - 1; i >= 0; i--) {
        const hop = unmap(hops[i]!.trim());
        if (isIP(hop) === 0) break;
        client = hop;
        if (!this.isTrusted(hop)) break;
      }
    }
    return { address, trusted: true, client };
  }
}

function unmap(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
