import { isAbsolute, resolve } from 'node:path';
import { TesseraError } from '../errors.js';
import { memoryStore } from './memory.js';
import { postgresStore } from './postgres.js';
import { redisStore, type RedisNode } from './redis.js';
import { sqliteStore } from './sqlite.js';
import type { SessionStore } from './types.js';

/** What a `TESSERA_STORE` value means, once parsed. */
export type StoreSpec =
  | { kind: 'memory' }
  | { kind: 'sqlite'; path: string }
  | { kind: 'redis'; url: string }
  | { kind: 'redis-cluster'; nodes: RedisNode[]; username?: string; password?: string }
  | { kind: 'redis-sentinel'; sentinels: RedisNode[]; name: string; password?: string }
  | { kind: 'postgres'; connectionString: string };

export interface OpenStoreOptions {
  /** Base of relative SQLite paths. Default `process.cwd()`. */
  cwd?: string;
  /** Redis key prefix. Default `tessera:`. */
  prefix?: string;
  /** Postgres table. Default `tessera_sessions`. */
  table?: string;
}

const accepted = [
  'memory:',
  'sqlite:./path/to/sessions.db (relative to the working directory) or sqlite:/absolute/path.db',
  'redis://[user:password@]host[:port][/db] or rediss://… (TLS)',
  'redis-cluster://[user:password@]host1:port1,host2:port2,…',
  'redis-sentinel://[:password@]host1:port1,host2:port2,…/mastername',
  'postgres://user:password@host[:port]/database or postgresql://…',
];

function invalid(spec: string, reason: string): TesseraError {
  return new TesseraError(
    'ERR_CONFIG_STORE',
    `TESSERA_STORE ${JSON.stringify(describeStore(spec))} is not valid: ${reason}. Expected one of:\n  ${accepted.join('\n  ')}`,
  );
}

/** `host:port` or `[v6]:port`; `defaultPort` when the port is left out. */
function parseHostPort(spec: string, text: string, defaultPort: number): RedisNode {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+))(?::(\d{1,5}))?$/.exec(text);
  if (match === null) throw invalid(spec, `"${text}" is not host:port`);
  const port = match[3] === undefined ? defaultPort : Number(match[3]);
  if (port < 1 || port > 65535) throw invalid(spec, `port ${port} in "${text}" is out of range`);
  return { host: (match[1] ?? match[2]) as string, port };
}

/** Splits `scheme://[credentials@]rest` for the multi-host forms, which URL cannot parse. */
function splitAuthority(spec: string, scheme: string): { username?: string; password?: string; hosts: string; path: string } {
  const rest = spec.slice(scheme.length);
  const at = rest.lastIndexOf('@', rest.indexOf('/') === -1 ? undefined : rest.indexOf('/'));
  const credentials = at === -1 ? undefined : rest.slice(0, at);
  const afterCredentials = at === -1 ? rest : rest.slice(at + 1);
  const slash = afterCredentials.indexOf('/');
  const hosts = slash === -1 ? afterCredentials : afterCredentials.slice(0, slash);
  const path = slash === -1 ? '' : afterCredentials.slice(slash + 1);
  const out: { username?: string; password?: string; hosts: string; path: string } = { hosts, path };
  if (credentials !== undefined) {
    const colon = credentials.indexOf(':');
    const username = decodeURIComponent(colon === -1 ? credentials : credentials.slice(0, colon));
    const password = colon === -1 ? undefined : decodeURIComponent(credentials.slice(colon + 1));
    if (username !== '') out.username = username;
    if (password !== undefined && password !== '') out.password = password;
  }
  return out;
}

function parseNodes(spec: string, hosts: string, defaultPort: number): RedisNode[] {
  if (hosts === '') throw invalid(spec, 'no host given');
  return hosts.split(',').map((part) => parseHostPort(spec, part.trim(), defaultPort));
}

function parseUrl(spec: string): URL {
  try {
    return new URL(spec);
  } catch {
    throw invalid(spec, 'it is not a valid URL');
  }
}

/** Parses a `TESSERA_STORE` value; throws `ERR_CONFIG_STORE` naming the accepted forms. */
export function parseStoreSpec(spec: string, options: { cwd?: string } = {}): StoreSpec {
  if (typeof spec !== 'string' || spec.trim() === '') throw invalid(String(spec ?? ''), 'it is empty');
  spec = spec.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(spec)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'memory':
      if (!/^memory:(\/\/)?$/i.test(spec)) throw invalid(spec, 'memory: takes nothing after the colon');
      return { kind: 'memory' };
    case 'sqlite': {
      let path = spec.slice('sqlite:'.length);
      if (path.startsWith('//')) path = path.slice(2); // sqlite:///abs/path and sqlite://./rel are accepted too
      if (path === '') throw invalid(spec, 'no database path given');
      if (path === ':memory:') return { kind: 'sqlite', path };
      return { kind: 'sqlite', path: isAbsolute(path) ? path : resolve(options.cwd ?? process.cwd(), path) };
    }
    case 'redis':
    case 'rediss': {
      const url = parseUrl(spec);
      if (url.hostname === '') throw invalid(spec, 'no host given');
      const db = url.pathname.replace(/^\//, '');
      if (db !== '' && !/^\d{1,2}$/.test(db)) throw invalid(spec, `"/${db}" is not a database number`);
      return { kind: 'redis', url: spec };
    }
    case 'redis-cluster': {
      const { username, password, hosts, path } = splitAuthority(spec, 'redis-cluster://');
      if (!/^redis-cluster:\/\//i.test(spec)) throw invalid(spec, 'expected redis-cluster://host:port,…');
      if (path !== '') throw invalid(spec, 'a cluster URL takes no path (clusters have no database numbers)');
      const out: StoreSpec = { kind: 'redis-cluster', nodes: parseNodes(spec, hosts, 6379) };
      if (username !== undefined) out.username = username;
      if (password !== undefined) out.password = password;
      return out;
    }
    case 'redis-sentinel': {
      if (!/^redis-sentinel:\/\//i.test(spec)) throw invalid(spec, 'expected redis-sentinel://host:port,…/mastername');
      const { password, hosts, path } = splitAuthority(spec, 'redis-sentinel://');
      const name = decodeURIComponent(path.replace(/\/$/, ''));
      if (name === '' || name.includes('/')) throw invalid(spec, 'the master name is missing (…/mastername)');
      const out: StoreSpec = { kind: 'redis-sentinel', sentinels: parseNodes(spec, hosts, 26379), name };
      if (password !== undefined) out.password = password;
      return out;
    }
    case 'postgres':
    case 'postgresql': {
      const url = parseUrl(spec);
      if (url.hostname === '' && !url.searchParams.has('host')) throw invalid(spec, 'no host given');
      return { kind: 'postgres', connectionString: spec };
    }
    default:
      throw invalid(spec, scheme === undefined ? 'it has no scheme' : `"${scheme}:" is not a known store`);
  }
}

/** Opens the store a `TESSERA_STORE` value names. Connections are made lazily, on first use. */
export function openStore(spec: string, options: OpenStoreOptions = {}): SessionStore {
  const parsed = parseStoreSpec(spec, options);
  const prefix = options.prefix === undefined ? {} : { prefix: options.prefix };
  switch (parsed.kind) {
    case 'memory':
      return memoryStore();
    case 'sqlite':
      return sqliteStore({ path: parsed.path });
    case 'redis':
      return redisStore({ url: parsed.url }, prefix);
    case 'redis-cluster': {
      const { kind: _, ...connection } = parsed;
      return redisStore(connection, prefix);
    }
    case 'redis-sentinel': {
      const { kind: _, ...connection } = parsed;
      return redisStore(connection, prefix);
    }
    case 'postgres':
      return postgresStore({ connectionString: parsed.connectionString, ...(options.table === undefined ? {} : { table: options.table }) });
  }
}

/**
 * Creates what the store needs (for `tessera store migrate`): the Postgres tables and indexes, or
 * the SQLite file. Memory and Redis need nothing. Returns the masked description of the store.
 */
export async function migrateStore(spec: string, options: OpenStoreOptions = {}): Promise<string> {
  const parsed = parseStoreSpec(spec, options);
  if (parsed.kind === 'postgres' || parsed.kind === 'sqlite') {
    const store = openStore(spec, options);
    try {
      if ('migrate' in store && typeof store.migrate === 'function') await (store.migrate as () => Promise<void>)();
      else await store.ping();
    } finally {
      await store.close();
    }
  }
  return describeStore(spec);
}

/** The spec with any password replaced by `****`, fit for logs and `check-config`. */
export function describeStore(spec: string): string {
  return spec
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/]*)@/i, (whole, scheme: string, credentials: string) => {
      const colon = credentials.indexOf(':');
      return colon === -1 ? whole : `${scheme}${credentials.slice(0, colon)}:****@`;
    })
    .replace(/([?&](?:password|sentinelPassword)=)[^&]*/gi, '$1****');
}
