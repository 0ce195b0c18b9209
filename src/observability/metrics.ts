import { Counter, Gauge, Histogram, Registry, type MetricObjectWithValues, type MetricType, type MetricValueWithName } from 'prom-client';

/**
 * What a host application sees of an instance's metrics: its own prom-client `Registry` (never
 * the global default one), to scrape as it is or to merge with the host's:
 * `Registry.merge([register, tessera.metrics.registry])`.
 */
export interface Metrics {
  readonly registry: Registry;
  /** The Content-Type of `render()`'s text. */
  readonly contentType: string;
  /** Every metric in Prometheus' text format. */
  render(): Promise<string>;
}

export type LoginKind = 'interactive' | 'silent';
export type IdpOperation = 'discovery' | 'token' | 'jwks' | 'logout' | 'other';
/** `ok`: an HTTP answer below 400; `error`: 400 or above; `unreachable`: no answer (network, timeout). */
export type CallOutcome = 'ok' | 'error' | 'unreachable';
export type StoreOperation = 'get' | 'getTokens' | 'set' | 'touch' | 'delete' | 'deleteByUser' | 'deleteBySid' | 'listByUser' | 'putOnce' | 'ping';
const storeOperations: readonly StoreOperation[] = ['get', 'getTokens', 'set', 'touch', 'delete', 'deleteByUser', 'deleteBySid', 'listByUser', 'putOnce', 'ping'];

/** In-process work: 10 µs to 1 s (a store round trip lands in the upper half). */
const localBuckets = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/** Calls to the identity provider: 5 ms to 10 s. */
const networkBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * One counter series kept in a plain number: `inc()` is one addition, with no label object or
 * label hash per call (prom-client's own `inc` costs about 250 ns). Read when scraped.
 */
export class Tally {
  count = 0;
  inc(): void {
    this.count += 1;
  }
}

/** One histogram series kept in plain numbers: `observe` is a scan of the bounds and three additions. */
export class LatencySeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly bounds: readonly number[];
  /** Observations per bucket (not cumulative); the last one is `+Inf`. */
  readonly buckets: Float64Array;
  sum = 0;
  count = 0;

  constructor(labels: Readonly<Record<string, string>>, bounds: readonly number[]) {
    this.labels = labels;
    this.bounds = bounds;
    this.buckets = new Float64Array(bounds.length + 1);
  }

  observe(seconds: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i += 1;
    this.buckets[i]! += 1;
    this.sum += seconds;
    this.count += 1;
  }

  /** Observes the time since `startedAt`, a `performance.now()` reading. */
  observeSince(startedAt: number): void {
    this.observe((performance.now() - startedAt) / 1000);
  }
}

/** A prom-client counter whose series are `Tally`s, copied in when the registry is scraped. */
function tallyCounter(registry: Registry, name: string, help: string, labelNames: readonly string[]): (...values: string[]) => Tally {
  const series = new Map<string, { labels: Record<string, string>; tally: Tally }>();
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const { labels, tally } of series.values()) this.inc(labels, tally.count);
    },
  });
  return (...values) => {
    const key = values.join('\0');
    let entry = series.get(key);
    if (entry === undefined) {
      if (values.length !== labelNames.length) throw new TypeError(`${name} takes the labels ${labelNames.join(', ')}`);
      entry = { labels: Object.fromEntries(labelNames.map((label, i) => [label, values[i]!])), tally: new Tally() };
      series.set(key, entry);
    }
    return entry.tally;
  };
}

/**
 * A prom-client histogram whose series are `LatencySeries` (written only through `series()`),
 * exported in prom-client's own shape when the registry is scraped. prom-client's `observe` with
 * labels costs about 800 ns and allocates; this one is a few nanoseconds.
 */
class LatencyHistogram extends Histogram<string> {
  readonly #series = new Map<string, LatencySeries>();
  readonly #name: string;
  readonly #help: string;
  readonly #labelNames: readonly string[];
  readonly #bounds: readonly number[];

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[], bounds: readonly number[]) {
    super({ name, help, labelNames, buckets: [...bounds], registers: [registry] });
    this.#name = name;
    this.#help = help;
    this.#labelNames = labelNames;
    this.#bounds = bounds;
  }

  series(...values: string[]): LatencySeries {
    const key = values.join('\0');
    let series = this.#series.get(key);
    if (series === undefined) {
      if (values.length !== this.#labelNames.length) throw new TypeError(`${this.#name} takes the labels ${this.#labelNames.join(', ')}`);
      series = new LatencySeries(Object.fromEntries(this.#labelNames.map((label, i) => [label, values[i]!])), this.#bounds);
      this.#series.set(key, series);
    }
    return series;
  }

  override async get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    const name = this.#name;
    const values: MetricValueWithName<string>[] = [];
    for (const series of this.#series.values()) {
      let cumulative = 0;
      series.bounds.forEach((bound, i) => {
        cumulative += series.buckets[i]!;
        values.push({ labels: { ...series.labels, le: bound }, value: cumulative, metricName: `${name}_bucket` });
      });
      values.push(
        { labels: { ...series.labels, le: '+Inf' }, value: series.count, metricName: `${name}_bucket` },
        { labels: { ...series.labels }, value: series.sum, metricName: `${name}_sum` },
        { labels: { ...series.labels }, value: series.count, metricName: `${name}_count` },
      );
    }
    // prom-client's types call `type` an enum; its registry writes the string into `# TYPE`.
    return { name, help: this.#help, type: 'histogram' as unknown as MetricType, values, aggregator: 'sum', collect: () => undefined };
  }

  /** What the registry reads for its text format (prom-client's own would read the unused base state). */
  getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    return this.get();
  }
}

/**
 * The metrics of one Tessera instance, in a registry of its own. The per-request path (the
 * session check and the session cache) writes `Tally`s and `LatencySeries` resolved once, so a
 * request allocates nothing for its metrics; the rest uses prom-client's metrics directly.
 */
export class TesseraMetrics implements Metrics {
  readonly registry = new Registry();

  readonly #loginsStarted: Record<LoginKind, Counter.Internal>;
  readonly #sessionsCreated: Counter<string>;
  readonly #callbackErrors: Counter<'reason'>;
  readonly #logouts: Counter<string>;
  readonly #bindingMismatches: Counter<'signal' | 'action'>;
  readonly #idpRequests: Histogram<'operation' | 'outcome'>;
  readonly #upgraded: Gauge<string>;
  readonly #closedBySessionEnd: Counter<'kind' | 'reason'>;

  readonly #authentications: (...values: string[]) => Tally;
  readonly #authenticated: Tally;
  readonly #unavailable: Tally;
  readonly #anonymous = new Map<string, Tally>();
  readonly #authenticatedLatency: LatencySeries;
  readonly #anonymousLatency: LatencySeries;
  readonly #unavailableLatency: LatencySeries;
  readonly #cacheHits: Tally;
  readonly #cacheMisses: Tally;
  readonly #storeLatency: LatencyHistogram;

  constructor() {
    const registers = [this.registry];
    const logins = new Counter({ name: 'tessera_logins_started_total', help: 'Login transactions started, by kind', labelNames: ['kind'], registers });
    this.#loginsStarted = { interactive: logins.labels('interactive'), silent: logins.labels('silent') };
    this.#sessionsCreated = new Counter({ name: 'tessera_sessions_created_total', help: 'Sessions created after a successful callback', registers });
    this.#callbackErrors = new Counter({ name: 'tessera_callback_errors_total', help: 'Callbacks rejected, by reason', labelNames: ['reason'], registers });
    this.#logouts = new Counter({ name: 'tessera_logouts_total', help: 'Local logouts', registers });
    this.#bindingMismatches = new Counter({
      name: 'tessera_session_binding_mismatches_total',
      help: 'Requests whose client differed from the one the session was bound to at sign-in, by signal (user-agent, ip-prefix) and action (log, revoke)',
      labelNames: ['signal', 'action'],
      registers,
    });
    this.#idpRequests = new Histogram({
      name: 'tessera_idp_request_duration_seconds',
      help: 'Requests to the identity provider (discovery, token exchange, JWKS, logout API), by operation and outcome (ok, error: HTTP status 400 or above, unreachable)',
      labelNames: ['operation', 'outcome'],
      buckets: networkBuckets,
      registers,
    });

    this.#upgraded = new Gauge({ name: 'tessera_upgraded_connections', help: 'WebSocket connections open through the gateway', registers });
    this.#closedBySessionEnd = new Counter({
      name: 'tessera_connections_closed_by_session_end_total',
      help: 'WebSockets (kind websocket) and streaming responses (kind http) closed because their session ended, by reason (revoked, idle_timeout, absolute_timeout, access_token_expired)',
      labelNames: ['kind', 'reason'],
      registers,
    });

    this.#authentications = tallyCounter(this.registry, 'tessera_authentications_total',
      'Session checks on the per-request path, by outcome (authenticated, anonymous, unavailable) and, when anonymous, reason', ['outcome', 'reason']);
    this.#authenticated = this.#authentications('authenticated', '');
    this.#unavailable = this.#authentications('unavailable', '');
    const latency = new LatencyHistogram(this.registry, 'tessera_authentication_duration_seconds',
      'Time of the per-request session check, by outcome (a session cache miss includes the store read)', ['outcome'], localBuckets);
    this.#authenticatedLatency = latency.series('authenticated');
    this.#anonymousLatency = latency.series('anonymous');
    this.#unavailableLatency = latency.series('unavailable');

    const cache = tallyCounter(this.registry, 'tessera_session_cache_lookups_total',
      'Lookups of the in-process session cache by the session check, hit or miss (a miss reads the store)', ['result']);
    this.#cacheHits = cache('hit');
    this.#cacheMisses = cache('miss');

    this.#storeLatency = new LatencyHistogram(this.registry, 'tessera_store_operation_duration_seconds',
      'Session store operations, by operation and outcome (ok, error)', ['operation', 'outcome'], localBuckets);
    for (const operation of storeOperations) this.#storeLatency.series(operation, 'ok');
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  loginStarted(kind: LoginKind): void {
    this.#loginsStarted[kind].inc();
  }

  sessionCreated(): void {
    this.#sessionsCreated.inc();
  }

  callbackRejected(reason: string): void {
    this.#callbackErrors.inc({ reason });
  }

  loggedOut(): void {
    this.#logouts.inc();
  }

  /** A request's client differed from the session's binding in `signal`; `action` is what TESSERA_SESSION_BINDING did. */
  bindingMismatch(signal: string, action: string): void {
    this.#bindingMismatches.inc({ signal, action });
  }

  upgradeOpened(): void {
    this.#upgraded.inc();
  }

  upgradeClosed(): void {
    this.#upgraded.dec();
  }

  closedBySessionEnd(kind: 'websocket' | 'http', reason: string): void {
    this.#closedBySessionEnd.inc({ kind, reason });
  }

  /** The session check found a live session; `startedAt` is its `performance.now()` at the start. */
  authenticated(startedAt: number): void {
    this.#authenticated.inc();
    this.#authenticatedLatency.observeSince(startedAt);
  }

  anonymous(reason: string, startedAt: number): void {
    let tally = this.#anonymous.get(reason);
    if (tally === undefined) this.#anonymous.set(reason, (tally = this.#authentications('anonymous', reason)));
    tally.inc();
    this.#anonymousLatency.observeSince(startedAt);
  }

  /** The session check could not answer (the store is out). */
  unavailable(startedAt: number): void {
    this.#unavailable.inc();
    this.#unavailableLatency.observeSince(startedAt);
  }

  cacheHit(): void {
    this.#cacheHits.inc();
  }

  cacheMiss(): void {
    this.#cacheMisses.inc();
  }

  /** The series a store operation's time goes to (resolve it once, observe per call). */
  storeOperation(operation: StoreOperation, outcome: 'ok' | 'error'): LatencySeries {
    return this.#storeLatency.series(operation, outcome);
  }

  idpRequest(operation: IdpOperation, outcome: CallOutcome, seconds: number): void {
    this.#idpRequests.observe({ operation, outcome }, seconds);
  }

  /** Times one request to the identity provider; its outcome comes from the response's status. */
  async timeIdpRequest(operation: IdpOperation, request: () => Promise<Response>): Promise<Response> {
    const started = performance.now();
    try {
      const response = await request();
      this.idpRequest(operation, response.status < 400 ? 'ok' : 'error', (performance.now() - started) / 1000);
      return response;
    } catch (err) {
      this.idpRequest(operation, 'unreachable', (performance.now() - started) / 1000);
      throw err;
    }
  }

  /** A `fetch` whose every call is timed as an IdP request. */
  idpFetch(operation: IdpOperation, base: typeof fetch = globalThis.fetch): typeof fetch {
    return (input, init) => this.timeIdpRequest(operation, () => base(input, init));
  }
}
