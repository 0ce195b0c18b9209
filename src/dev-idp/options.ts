/** The dev IdP's options, their environment defaults, and their validation. */
import { TesseraError } from '../errors.js';
import type { Logger, LogLevel } from '../observability/log.js';
import type { ClientMetadata } from './clients.js';

export interface DevIdpOptions {
  /** Port; default `TESSERA_DEV_IDP_PORT` or 4000; 0 picks a free port. */
  port?: number;
  /** Host name in the issuer and URLs; default `localhost`. The server listens on loopback only. */
  host?: string;
  /** Directory for keys and state (kept under `<dataDir>/dev-idp/`); default `.tessera`. */
  dataDir?: string;
  /** Access-token lifetime in seconds; default `TESSERA_DEV_IDP_ACCESS_TOKEN_TTL` or 3600. */
  accessTokenTtl?: number;
  /** JSON users file that replaces the built-in alice and bob. */
  usersFile?: string;
  /** JSON file with an array of extra client metadata objects. */
  clientsFile?: string;
  /** Extra clients; one with the id `tessera-dev` replaces the built-in client. */
  clients?: ClientMetadata[];
  /** Do not print the start banner. */
  quiet?: boolean;
  /** Where the dev IdP logs; default JSON lines on stderr at `TESSERA_LOG_LEVEL` (or info). */
  logger?: Logger;
}

export interface ResolvedDevIdpOptions {
  port: number;
  host: string;
  dataDir: string;
  accessTokenTtl: number;
  usersFile: string | undefined;
  clientsFile: string | undefined;
  clients: ClientMetadata[];
  quiet: boolean;
  /** The level of the dev IdP's own logger, when no `logger` is passed. */
  logLevel: LogLevel;
}

const logLevels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

function invalid(name: string, expected: string, value: unknown): never {
  throw new TesseraError('ERR_DEV_IDP_CONFIG', `${name} must be ${expected}, got ${JSON.stringify(value)}`);
}

function integer(name: string, value: number | string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = typeof value === 'number' ? value : /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) invalid(name, `an integer from ${min} to ${max}`, value);
  return n;
}

const hostPattern = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$/;

export function resolveOptions(options: DevIdpOptions, env: NodeJS.ProcessEnv = process.env): ResolvedDevIdpOptions {
  const port = options.port !== undefined
    ? integer('port', options.port, 4000, 0, 65535)
    : integer('TESSERA_DEV_IDP_PORT', env.TESSERA_DEV_IDP_PORT, 4000, 0, 65535);
  const accessTokenTtl = options.accessTokenTtl !== undefined
    ? integer('accessTokenTtl', options.accessTokenTtl, 3600, 1, 366 * 24 * 3600)
    : integer('TESSERA_DEV_IDP_ACCESS_TOKEN_TTL', env.TESSERA_DEV_IDP_ACCESS_TOKEN_TTL, 3600, 1, 366 * 24 * 3600);
  const host = options.host ?? 'localhost';
  if (!hostPattern.test(host)) invalid('host', 'a host name or IP address without a port', host);
  const dataDir = options.dataDir ?? '.tessera';
  if (typeof dataDir !== 'string' || dataDir === '') invalid('dataDir', 'a directory path', dataDir);
  if (options.clients !== undefined && !Array.isArray(options.clients)) invalid('clients', 'an array of client metadata', options.clients);
  const logLevel = env.TESSERA_LOG_LEVEL || 'info';
  if (!logLevels.includes(logLevel as LogLevel)) invalid('TESSERA_LOG_LEVEL', logLevels.join(', '), logLevel);
  return {
    port,
    host,
    dataDir,
    accessTokenTtl,
    usersFile: options.usersFile,
    clientsFile: options.clientsFile,
    clients: options.clients ?? [],
    quiet: options.quiet ?? false,
    logLevel: logLevel as LogLevel,
  };
}
