import { importJWK, type CryptoKey, type JWK, type JWSHeaderParameters } from 'jose';
import { silentLogger, type Logger } from '../observability/log.js';
import { SpanKind, withSpan, type Span } from '../observability/tracing.js';
import { isJwsAlgorithm, keyFamily, type JwsAlgorithm } from './algorithms.js';
import { quoteUntrusted as quote, tokenError } from './errors.js';

/**
 * Where verification keys come from: the IdP's JWKS and nothing else. Share one source between
 * the verifiers of one issuer so they share one cache and one refetch budget.
 */
export interface KeySource {
  /** The JWKS URL, normalized. */
  readonly jwksUri: string;
  /**
   * The public key for a token's protected header (whose `alg` the caller has already allowed).
   * Throws `ERR_TOKEN_KEY_NOT_FOUND`, or `ERR_TOKEN_JWKS_UNAVAILABLE` while no key set has
   * ever loaded.
   */
  getKey(header: JWSHeaderParameters): Promise<CryptoKey>;
}

export interface KeySourceOptions {
  jwksUri: string | URL;
  /**
   * Least time between two JWKS fetches caused by an unknown `kid` (or by retrying a failure).
   * Default 30 000 ms. While no key set has loaded yet, retries come at most every
   * min(cooldownMs, 5 000) ms.
   */
  cooldownMs?: number;
  /** Age after which the key set is refreshed in the background; default 600 000 ms (10 min). */
  cacheMaxAgeMs?: number;
  /** Timeout of one JWKS request, default 5 000 ms. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Where failed JWKS fetches are logged (warn); default nowhere. */
  logger?: Logger;
}

const INITIAL_RETRY_MS = 5_000;
/** A key set younger than this already is the IdP's newest: an unknown `kid` does not refetch it. */
const FRESH_MS = 1_000;

/** A JWKS member that could verify something: public, asymmetric, well-typed. */
interface KeyEntry {
  jwk: JWK;
  /** Imported CryptoKeys by algorithm (one JWK may serve several algorithms of its family). */
  imported: Map<JwsAlgorithm, Promise<CryptoKey>>;
}

type Selection = { found: 'one'; entry: KeyEntry } | { found: 'none' } | { found: 'several' };

/**
 * A JWKS-backed key source. Rules (SECURITY.md, token validation):
 * - an unknown `kid` causes at most one refetch per cooldown (counted from the last refetch for an
 *   unknown kid, not from the first load, so a key rotated in right after start-up is found), none
 *   while the set is less than a second old, and concurrent refetches share one request, so a
 *   flood of random kids costs at most one fetch per cooldown;
 * - once a key set has loaded, fetch failures never drop it: known keys keep verifying, unknown
 *   kids fail closed (`ERR_TOKEN_KEY_NOT_FOUND`);
 * - a stale key set (older than `cacheMaxAgeMs`) is refreshed in the background, never blocking;
 * - a response without a single usable signing key counts as a failure (the old set stays);
 * - a token without `kid` is verified only when exactly one key matches its `alg`.
 */
export function createKeySource(options: KeySourceOptions): KeySource {
  const jwksUri = parseJwksUri(options.jwksUri);
  const cooldownMs = durationOption(options.cooldownMs, 30_000, 'cooldownMs');
  const cacheMaxAgeMs = durationOption(options.cacheMaxAgeMs, 600_000, 'cacheMaxAgeMs');
  const timeoutMs = durationOption(options.timeoutMs, 5_000, 'timeoutMs');
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') throw new TypeError('"fetch" option must be a function');
  const logger = options.logger ?? silentLogger;

  let keys: KeyEntry[] | undefined;
  let loadedAt = 0;
  let attemptedAt = Number.NEGATIVE_INFINITY;
  // The unknown-kid budget counts only refetches for unknown kids: a rotation right after the
  // first load (or a background refresh) still gets its one refetch.
  let kidRefetchAt = Number.NEGATIVE_INFINITY;
  let lastError: unknown;
  let pending: Promise<void> | undefined;

  const mayFetch = (): boolean => {
    const wait = keys === undefined ? Math.min(cooldownMs, INITIAL_RETRY_MS) : cooldownMs;
    return Date.now() - attemptedAt >= wait;
  };

  // One request at a time; callers that arrive meanwhile wait for the same one.
  const refresh = (): Promise<void> => {
    pending ??= (async () => {
      attemptedAt = Date.now();
      try {
        keys = await download(jwksUri, fetchImpl, timeoutMs);
        loadedAt = Date.now();
        lastError = undefined;
      } catch (err) {
        lastError = err;
        logger.warn({ jwksUri, error: err instanceof Error ? err.message : String(err), haveKeys: keys !== undefined }, 'JWKS fetch failed');
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };

  // Waits for a running fetch, or starts one when the cooldown allows; never throws.
  const refreshIfAllowed = async (): Promise<void> => {
    if (pending !== undefined) await pending;
    else if (mayFetch()) await refresh();
  };

  return {
    jwksUri,
    async getKey(header) {
      const alg: unknown = header.alg;
      if (!isJwsAlgorithm(alg)) throw tokenError('ERR_TOKEN_ALG', 'token "alg" header is not a supported asymmetric algorithm');
      const kid: unknown = header.kid;
      if (kid !== undefined && typeof kid !== 'string') throw tokenError('ERR_TOKEN_HEADER', 'token "kid" header must be a string');

      if (keys === undefined) {
        await refreshIfAllowed();
        if (keys === undefined) {
          throw tokenError('ERR_TOKEN_JWKS_UNAVAILABLE', `the JWKS at ${jwksUri} could not be loaded`, lastError);
        }
      } else if (Date.now() - loadedAt >= cacheMaxAgeMs && pending === undefined && mayFetch()) {
        void refresh();
      }

      let selection = select(keys, alg, kid);
      if (selection.found === 'none') {
        // Perhaps a key rotated in at the IdP: one refetch per cooldown, unless the set is fresh.
        if (pending !== undefined) await pending;
        else if (Date.now() - kidRefetchAt >= cooldownMs && Date.now() - loadedAt >= Math.min(FRESH_MS, cooldownMs)) {
          kidRefetchAt = Date.now();
          await refresh();
        }
        selection = select(keys!, alg, kid);
      }
      const named = kid === undefined ? `"${alg}"` : `"kid" ${quote(kid)} and "${alg}"`;
      if (selection.found === 'several') {
        throw tokenError('ERR_TOKEN_KEY_NOT_FOUND', kid === undefined
          ? `token has no "kid" header and several JWKS keys match "${alg}"`
          : `several JWKS keys match ${named}`);
      }
      if (selection.found === 'none') throw tokenError('ERR_TOKEN_KEY_NOT_FOUND', `no JWKS key matches ${named}`);
      return importKey(selection.entry, alg);
    },
  };
}


function select(keys: readonly KeyEntry[], alg: JwsAlgorithm, kid: string | undefined): Selection {
  const family = keyFamily(alg);
  let match: KeyEntry | undefined;
  for (const entry of keys) {
    const { jwk } = entry;
    if (kid !== undefined && jwk.kid !== kid) continue; // kid is only compared, never interpreted
    if (jwk.kty !== family.kty) continue;
    if (family.crv !== undefined && jwk.crv !== family.crv) continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    if (jwk.key_ops !== undefined && !jwk.key_ops.includes('verify')) continue;
    if (jwk.alg !== undefined && jwk.alg !== alg) continue;
    if (match !== undefined) return { found: 'several' };
    match = entry;
  }
  return match === undefined ? { found: 'none' } : { found: 'one', entry: match };
}

async function importKey(entry: KeyEntry, alg: JwsAlgorithm): Promise<CryptoKey> {
  let imported = entry.imported.get(alg);
  if (imported === undefined) {
    imported = importPublicKey(entry.jwk, alg);
    entry.imported.set(alg, imported);
    // A key that fails to import stays failed for this key set; the next fetch brings new entries.
  }
  try {
    return await imported;
  } catch (cause) {
    throw tokenError('ERR_TOKEN_KEY_NOT_FOUND', `the JWKS key for "${alg}" could not be imported`, cause);
  }
}

async function importPublicKey(jwk: JWK, alg: JwsAlgorithm): Promise<CryptoKey> {
  const key = await importJWK(jwk, alg);
  if (key instanceof Uint8Array || key.type !== 'public') throw new TypeError('JWKS member is not a public key');
  const { modulusLength } = key.algorithm as { modulusLength?: number };
  if (keyFamily(alg).kty === 'RSA' && (modulusLength === undefined || modulusLength < 2048)) {
    throw new TypeError('RSA keys shorter than 2048 bits are not accepted');
  }
  return key;
}

function download(jwksUri: string, fetchImpl: typeof fetch, timeoutMs: number): Promise<KeyEntry[]> {
  return withSpan('tessera.jwks_fetch', { 'http.request.method': 'GET', 'url.full': jwksUri }, async (span) => {
    const keys = await fetchKeys(jwksUri, fetchImpl, timeoutMs, span);
    if (span.isRecording()) span.setAttribute('tessera.jwks.keys', keys.length);
    return keys;
  }, SpanKind.CLIENT);
}

async function fetchKeys(jwksUri: string, fetchImpl: typeof fetch, timeoutMs: number, span: Span): Promise<KeyEntry[]> {
  const response = await fetchImpl(jwksUri, {
    method: 'GET',
    headers: { accept: 'application/json, application/jwk-set+json' },
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (span.isRecording()) span.setAttribute('http.response.status_code', response.status);
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    throw new Error(`JWKS answered HTTP ${response.status}`);
  }
  return parseJwks(await response.json());
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'];

/** Keeps the members that could verify a signature; a set without any is refused. */
function parseJwks(body: unknown): KeyEntry[] {
  if (!isPlainObject(body) || !Array.isArray(body.keys)) throw new Error('JWKS response is not a JSON object with a "keys" array');
  const entries: KeyEntry[] = [];
  for (const member of body.keys as unknown[]) {
    if (!isPlainObject(member)) continue;
    const { kty, kid, use, alg, crv } = member;
    const keyOps = member.key_ops;
    if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP') continue;
    if (PRIVATE_MEMBERS.some((name) => name in member)) continue;
    if (![kid, use, alg, crv].every((v) => v === undefined || typeof v === 'string')) continue;
    if (keyOps !== undefined && !(Array.isArray(keyOps) && keyOps.every((op) => typeof op === 'string'))) continue;
    entries.push({ jwk: structuredClone(member) as JWK, imported: new Map() });
  }
  if (entries.length === 0) throw new Error('JWKS response has no usable public signing key');
  return entries;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJwksUri(value: string | URL): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError('"jwksUri" option must be an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('"jwksUri" option must be an http(s) URL');
  return url.href;
}

function durationOption(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`"${name}" option must be a non-negative number of milliseconds`);
  }
  return value;
}

/** The configured key source, or one for `jwksUri`; both given must name the same JWKS. */
export function resolveKeySource(options: { keySource?: KeySource | undefined; jwksUri?: string | URL | undefined; fetch?: typeof fetch | undefined; logger?: Logger | undefined }): KeySource {
  const { keySource, jwksUri } = options;
  if (keySource !== undefined) {
    if (jwksUri !== undefined && parseJwksUri(jwksUri) !== keySource.jwksUri) {
      throw new TypeError('"jwksUri" and "keySource" options name different JWKS URLs');
    }
    return keySource;
  }
  if (jwksUri === undefined) throw new TypeError('"jwksUri" or "keySource" option is required');
  return createKeySource({ jwksUri, ...(options.fetch === undefined ? {} : { fetch: options.fetch }), ...(options.logger === undefined ? {} : { logger: options.logger }) });
}
