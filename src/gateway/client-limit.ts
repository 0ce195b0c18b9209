/**
 * Concurrent proxied requests per client address. One client (one address) that opens many
 * slow requests takes at most `max` upstream connections; everyone else keeps theirs.
 */
export class ClientLimit {
  #inFlight = new Map<string, number>();
  readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  /** Takes a slot for `client`; false when it already holds `max`. */
  acquire(client: string): boolean {
    const n = this.#inFlight.get(client) ?? 0;
    if (n >= this.max) return false;
    this.#inFlight.set(client, n + 1);
    return true;
  }

  release(client: string): void {
    const n = this.#inFlight.get(client) ?? 0;
    if (n <= 1) this.#inFlight.delete(client);
    else this.#inFlight.set(client, n - 1);
  }

  /** Clients holding at least one slot (for tests and metrics). */
  get clients(): number {
    return this.#inFlight.size;
  }
}
