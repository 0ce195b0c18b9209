/**
 * `TESSERA_STORE` values: what they mean (parsed, checked, every defect named) and how to print
 * them without their passwords. Pure: opening the store is `stores/open.ts`'s job.
 */
import { isAbsolute, resolve } from 'node:path';
import { TesseraError } from '../errors.js';

/** One Redis host. */
export interface RedisNode {
  host: string;
  port: number;
}

/** What a `TESSERA_STORE` value means, once parsed. */
export type StoreSpec =
  | { kind: 'memory' }
  | { kind: 'sqlite'; path: string }
  | { kind: 'redis'; url: string; prefix?: string }
  | { kind: 'redis-cluster'; nodes: RedisNode[]; username?: string; password?: string; prefix?: string }
  | { kind: 'redis-sentinel'; sentinels: RedisNode[]; name: string; password?: string; prefix?: string }
  | { kind: 'postgres'; connectionString: string; table?: string };

export interface OpenStoreOptions {
  /** Base of relative SQLite paths. Default `process.cwd()`. */
  cwd?: string;
  /** Redis key prefix. Default: the URL's `?prefix=`, else `tessera:`. */
  prefix?: string;
  /** Postgres table. Default: the URL's `?table=`, else `tessera_sessions`. */
  table?: string;
}

const accepted = [
  'memory:',
  'sqlite:./path/to/sessions.db (relative to the working directory) or sqlite:/absolute/path.db',
  'redis://[user:password@]host[:port][/db][?prefix=app:] or rediss://… (TLS)',
  'redis-cluster://[user:password@]host1:port1,host2:port2,…[?prefix=app:]',
  'redis-sentinel://[:password@]host1:port1,host2:port2,…/mastername[?prefix=app:]',
  'postgres://user:password@host[:port]/database[?table=name] or postgresql://…',
];

/** Redis key prefixes: printable, no spaces, so keys stay readable in `redis-cli`. */
const prefixPattern = /^[A-Za-z0-9_:.{}-]{1,64}$/;
/** The same rule `postgresStore` applies to its `table` option (optionally schema-qualified). */
const tablePattern = /^[A-Za-z_][A-Za-z0-9_]{0,42}(?:\.[A-Za-z_][A-Za-z0-9_]{0,42})?$/;

/** What is wrong with a spec; thrown inside this module, turned into what each caller shows. */
class SpecProblem {
  constructor(readonly spec: string, readonly reason: string) {}

  /** `"<spec, passwords masked>" is not valid: <reason>`, then the accepted forms, one a line. */
  describe(indent: string): string {
    return `${JSON.stringify(describeStore(this.spec))} is not valid: ${this.reason}. Expected one of:\n${indent}${accepted.join(`\n${indent}`)}`;
  }
}

function invalid(spec: string, reason: string): SpecProblem {
  return new SpecProblem(spec, reason);
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

/** Splits off the query of a multi-host form; only `prefix` is understood there. */
function splitQuery(spec: string): { base: string; prefix?: string } {
  const question = spec.indexOf('?');
  if (question === -1) return { base: spec };
  const params = new URLSearchParams(spec.slice(question + 1));
  for (const name of params.keys()) {
    if (name !== 'prefix') throw invalid(spec, `unknown parameter "${name}" (only prefix is accepted)`);
  }
  const prefix = params.get('prefix');
  return { base: spec.slice(0, question), ...(prefix === null ? {} : { prefix: checkPrefix(spec, prefix) }) };
}

function checkPrefix(spec: string, prefix: string): string {
  if (!prefixPattern.test(prefix)) throw invalid(spec, `prefix ${JSON.stringify(prefix)} must be 1-64 characters from A-Z a-z 0-9 _ : . { } -`);
  return prefix;
}

/** Removes one query parameter from a URL, returning its value (the other parameters stay). */
function takeParameter(url: URL, name: string): string | undefined {
  if (!url.searchParams.has(name)) return undefined;
  const values = url.searchParams.getAll(name);
  url.searchParams.delete(name);
  if (url.search === '?') url.search = '';
  return values[values.length - 1];
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
  try {
    return parse(spec, options);
  } catch (err) {
    if (!(err instanceof SpecProblem)) throw err;
    throw new TesseraError('ERR_CONFIG_STORE', `TESSERA_STORE ${err.describe('  ')}`);
  }
}

/**
 * What is wrong with a `TESSERA_STORE` value, as one line of the settings schema's report (the
 * accepted forms indented below it), or `undefined` when it is valid.
 */
export function storeSpecProblem(spec: string): string | undefined {
  try {
    parse(spec);
    return undefined;
  } catch (err) {
    if (!(err instanceof SpecProblem)) throw err;
    return err.describe('    ');
  }
}

function parse(spec: string, options: { cwd?: string } = {}): StoreSpec {
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
      // `prefix` is Tessera's; the other parameters are ioredis options and stay in the URL.
      const prefix = takeParameter(url, 'prefix');
      if (prefix === undefined) return { kind: 'redis', url: spec };
      return { kind: 'redis', url: url.href, prefix: checkPrefix(spec, prefix) };
    }
    case 'redis-cluster': {
      if (!/^redis-cluster:\/\//i.test(spec)) throw invalid(spec, 'expected redis-cluster://host:port,…');
      const { base, prefix } = splitQuery(spec);
      const { username, password, hosts, path } = splitAuthority(base, 'redis-cluster://');
      if (path !== '') throw invalid(spec, 'a cluster URL takes no path (clusters have no database numbers)');
      const out: StoreSpec = { kind: 'redis-cluster', nodes: parseNodes(spec, hosts, 6379) };
      if (username !== undefined) out.username = username;
      if (password !== undefined) out.password = password;
      if (prefix !== undefined) out.prefix = prefix;
      return out;
    }
    case 'redis-sentinel': {
      if (!/^redis-sentinel:\/\//i.test(spec)) throw invalid(spec, 'expected redis-sentinel://host:port,…/mastername');
      const { base, prefix } = splitQuery(spec);
      const { password, hosts, path } = splitAuthority(base, 'redis-sentinel://');
      const name = decodeURIComponent(path.replace(/\/$/, ''));
      if (name === '' || name.includes('/')) throw invalid(spec, 'the master name is missing (…/mastername)');
      const out: StoreSpec = { kind: 'redis-sentinel', sentinels: parseNodes(spec, hosts, 26379), name };
      if (password !== undefined) out.password = password;
      if (prefix !== undefined) out.prefix = prefix;
      return out;
    }
    case 'postgres':
    case 'postgresql': {
      const url = parseUrl(spec);
      if (url.hostname === '' && !url.searchParams.has('host')) throw invalid(spec, 'no host given');
      // `table` is Tessera's; the driver would otherwise see it as a connection parameter.
      const table = takeParameter(url, 'table');
      if (table === undefined) return { kind: 'postgres', connectionString: spec };
      if (!tablePattern.test(table)) throw invalid(spec, `table ${JSON.stringify(table)} must be an SQL identifier (letters, digits, _; at most 43), optionally schema.table`);
      return { kind: 'postgres', connectionString: url.href, table };
    }
    default:
      throw invalid(spec, scheme === undefined ? 'it has no scheme' : `"${scheme}:" is not a known store`);
  }
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
