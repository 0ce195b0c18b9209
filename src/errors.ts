/**
 * The one error class of Tessera and the one catalogue of its codes. `code` is a stable string
 * (`ERR_<AREA>_<WHAT>`) that callers switch on; the catalogue gives each code its HTTP `status`
 * where one applies and says whether it is `transient`: an outage of something Tessera depends
 * on (the session store, the identity provider) that must be answered with a clear 503 and a
 * retry, never a 401, a logout or a "bad token".
 *
 * This file is the bottom layer: it imports nothing from src/.
 */

/** The areas of the codes: `ERR_<AREA>_…`. */
export type TesseraErrorArea = 'CONFIG' | 'DEV_IDP' | 'IDP' | 'STORE' | 'TOKEN';

/** What the catalogue says about one code. */
export interface TesseraErrorEntry {
  /** The HTTP status the error maps to, where one applies. */
  readonly status?: number;
  /** Finer statuses a thrower may pick instead of `status` (e.g. 413 or 415 for a bad request). */
  readonly statuses?: readonly number[];
  /** An outage (store down, IdP unreachable or timing out): always 503, never a 401 or a logout. */
  readonly transient: boolean;
  readonly description: string;
}

/** Every code Tessera throws. Add a code here before throwing it; a code not here does not compile. */
export const errorCatalogue = {
  // Configuration: thrown at start-up, never while serving a request.
  ERR_CONFIG_INVALID: { transient: false, description: 'the settings are invalid; the message has one line per problem, naming the key' },
  ERR_CONFIG_KEYS: { transient: false, description: 'TESSERA_KEYS is not a valid sealing key ring' },
  ERR_CONFIG_STORE: { transient: false, description: 'TESSERA_STORE is not a store URL Tessera understands' },
  ERR_CONFIG_WORKER_START: { transient: false, description: 'a `tessera serve` worker exited before it listened (its own message says why)' },
  ERR_CONFIG_LISTEN: { transient: false, description: 'the gateway\'s or the metrics listener\'s address cannot be listened on (in use, not allowed, not on this machine)' },

  // The session store.
  ERR_STORE_UNAVAILABLE: { status: 503, transient: true, description: 'the session store failed, timed out or is closed' },
  ERR_STORE_DRIVER_MISSING: { transient: false, description: 'the database client package the store needs is not installed' },

  // The identity provider (discovery).
  ERR_IDP_UNAVAILABLE: { status: 503, transient: true, description: 'the identity provider did not answer, or answered with an error' },
  ERR_IDP_METADATA: { status: 503, transient: true, description: 'the identity provider answered with unusable discovery metadata (missing endpoint, other issuer); retried like an outage' },

  // Tokens (access, ID and logout tokens): 401, except a JWKS that cannot be loaded.
  ERR_TOKEN_MALFORMED: { status: 401, transient: false, description: 'not a compact JWS of at most 16 KiB' },
  ERR_TOKEN_ALG: { status: 401, transient: false, description: 'the "alg" header is missing, "none" or not allowed' },
  ERR_TOKEN_HEADER: { status: 401, transient: false, description: 'a protected header is not accepted (crit, b64, embedded keys, bad kid or typ)' },
  ERR_TOKEN_SIGNATURE: { status: 401, transient: false, description: 'the signature is invalid, or the token could not be verified' },
  ERR_TOKEN_KEY_NOT_FOUND: { status: 401, transient: false, description: 'no single usable key in the JWKS for the token' },
  ERR_TOKEN_JWKS_UNAVAILABLE: { status: 503, transient: true, description: 'the identity provider\'s JWKS could not be fetched' },
  ERR_TOKEN_EXPIRED: { status: 401, transient: false, description: 'the "exp" claim is in the past' },
  ERR_TOKEN_NOT_YET_VALID: { status: 401, transient: false, description: 'the "nbf" or "iat" claim is in the future' },
  ERR_TOKEN_CLAIM: { status: 401, transient: false, description: 'a claim is missing, of the wrong type or has an unexpected value' },
  ERR_TOKEN_TYPE: { status: 401, transient: false, description: 'a token of another kind (typ header, foreign claims)' },
  ERR_TOKEN_REPLAYED: { status: 401, transient: false, description: 'a logout token whose "jti" was seen before' },

  // The development identity provider.
  ERR_DEV_IDP_CONFIG: { transient: false, description: 'a dev IdP option or TESSERA_DEV_IDP_* setting is invalid' },
  ERR_DEV_IDP_USERS: { transient: false, description: 'the dev IdP users file cannot be read or is invalid' },
  ERR_DEV_IDP_CLIENTS: { transient: false, description: 'the dev IdP clients file cannot be read or is invalid' },
  ERR_DEV_IDP_KEYS: { transient: false, description: 'the dev IdP key file cannot be read or is invalid' },
  ERR_DEV_IDP_PORT_IN_USE: { transient: false, description: 'the dev IdP port is taken by another process' },
  ERR_DEV_IDP_BAD_REQUEST: { status: 400, statuses: [413, 415], transient: false, description: 'a request to the dev IdP\'s own routes has an unusable body' },
} as const satisfies Record<`ERR_${TesseraErrorArea}_${string}`, TesseraErrorEntry>;

export type TesseraErrorCode = keyof typeof errorCatalogue;

/** `ERR_STORE_`, `ERR_TOKEN_`, …: what `isTesseraError` accepts besides a whole code. */
export type TesseraErrorPrefix = `ERR_${TesseraErrorArea}_`;

/** The codes starting with `P` (a prefix or a whole code). */
export type TesseraErrorCodeWith<P extends TesseraErrorPrefix | TesseraErrorCode> = Extract<TesseraErrorCode, `${P}${string}`>;

type FinerStatus<C extends TesseraErrorCode> = (typeof errorCatalogue)[C] extends { statuses: readonly (infer S)[] } ? S : never;

export interface TesseraErrorOptions<C extends TesseraErrorCode> {
  cause?: unknown;
  /** Only for codes whose catalogue entry lists finer `statuses`. */
  status?: FinerStatus<C>;
}

export class TesseraError<C extends TesseraErrorCode = TesseraErrorCode> extends Error {
  readonly code: C;
  /** The HTTP status the error maps to where one applies (from the catalogue). */
  readonly status: number | undefined;
  /** An outage, not a defect of the request: answer 503 and retry; never a 401 or a logout. */
  readonly transient: boolean;

  constructor(code: C, message: string, options: TesseraErrorOptions<C> = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    if (!Object.hasOwn(errorCatalogue, code)) throw new TypeError(`${String(code)} is not a Tessera error code`);
    const entry: TesseraErrorEntry = errorCatalogue[code];
    this.name = 'TesseraError';
    this.code = code;
    const finer = options.status as number | undefined;
    this.status = finer !== undefined && entry.statuses?.includes(finer) ? finer : entry.status;
    this.transient = entry.transient;
  }
}

/** Whether `value` is a `TesseraError`, optionally one whose code starts with `codePrefix`. */
export function isTesseraError<P extends TesseraErrorPrefix | TesseraErrorCode = TesseraErrorPrefix>(
  value: unknown,
  codePrefix?: P,
): value is TesseraError<TesseraErrorCodeWith<P>> {
  return value instanceof TesseraError && (codePrefix === undefined || value.code.startsWith(codePrefix));
}
