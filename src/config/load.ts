import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { TesseraError } from '../errors.js';
import { devIdpSettings, type DevIdpSettingName } from './dev-settings.js';
import { describeStore } from './store-spec.js';
import {
  deriveConfig, optionsSchema, optionToSetting, secretOptions, settingNames,
  type SettingName, type TesseraConfig, type TesseraOptionsInput,
} from './schema.js';

/**
 * The one loader of settings, for the library and every command. Settings come from, lowest
 * first: defaults given by the caller, a JSON `--config` file with `TESSERA_*` keys, the
 * environment, overrides (command-line flags). Every problem is reported at once, one line per
 * problem naming the key as the user wrote it (`TESSERA_PORT`, or `--port` for a flag).
 */

/** Every key the loader knows: Tessera's settings and the dev IdP's. */
export type AnySettingName = SettingName | DevIdpSettingName;

/** A value given by a command-line flag: a problem with it names the flag, not the key. */
export interface FlagValue {
  readonly flag: `--${string}`;
  readonly value: string | undefined;
}

/** Values that win over the environment and the file; `undefined` means not given. */
export type Overrides<K extends string = SettingName> = Partial<Record<K, string | FlagValue | undefined>>;

export interface SettingProblem {
  /** The key as the user wrote it: `TESSERA_PORT`, or `--port` for a flag. */
  readonly key: string;
  readonly message: string;
  /** The value came from a command-line flag (a usage error rather than a configuration error). */
  readonly fromFlag: boolean;
}

type SchemaOf<K extends AnySettingName> = K extends SettingName ? (typeof optionsSchema.shape)[(typeof settingNames)[K]]
  : K extends DevIdpSettingName ? (typeof devIdpSettings)[K] : never;

/** The validated values of the settings `K`, by key. */
export type Settings<K extends AnySettingName> = { [N in K]: z.output<SchemaOf<N>> };

const isSettingName = (key: string): key is SettingName => Object.hasOwn(settingNames, key);
const isDevIdpSettingName = (key: string): key is DevIdpSettingName => Object.hasOwn(devIdpSettings, key);

/** The `ERR_CONFIG_INVALID` error listing `problems`, one line each. */
export function invalidConfiguration(problems: readonly (SettingProblem | string)[]): TesseraError {
  const lines = problems.map((p) => (typeof p === 'string' ? p : `${p.key}: ${p.message}`));
  return new TesseraError('ERR_CONFIG_INVALID', `Invalid configuration:\n  ${lines.join('\n  ')}`);
}

interface Gathered {
  /** Raw values by key. */
  values: Map<string, unknown>;
  /** Keys whose value came from a flag, and the flag. */
  flags: Map<string, string>;
  problems: SettingProblem[];
  /** The file could not be read: the only problem worth reporting, as its settings are unknown. */
  unreadable?: SettingProblem;
}

/** Reads the raw values of `keys` from every source; a key of the file the loader does not know is a problem. */
function gather(keys: readonly string[], env: NodeJS.ProcessEnv, configFile: string | undefined, overrides: Overrides<string>, defaults: Partial<Record<string, string>>): Gathered {
  const gathered: Gathered = { values: new Map(), flags: new Map(), problems: [] };
  const wanted = new Set(keys);
  for (const key of keys) if (defaults[key] !== undefined) gathered.values.set(key, defaults[key]);
  if (configFile !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(configFile, 'utf8'));
    } catch (cause) {
      gathered.unreadable = { key: `--config ${configFile}`, message: (cause as Error).message, fromFlag: false };
      return gathered;
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      gathered.unreadable = { key: `--config ${configFile}`, message: 'expected a JSON object of TESSERA_* keys', fromFlag: false };
      return gathered;
    }
    for (const [key, value] of Object.entries(json)) {
      if (wanted.has(key)) gathered.values.set(key, value);
      else if (!isSettingName(key) && !isDevIdpSettingName(key)) gathered.problems.push({ key, message: 'unknown setting', fromFlag: false });
    }
  }
  for (const key of keys) {
    const value = env[key];
    if (value !== undefined && value !== '') gathered.values.set(key, value);
  }
  for (const key of keys) {
    const override = overrides[key];
    const value = typeof override === 'object' ? override.value : override;
    if (value === undefined || value === '') continue;
    gathered.values.set(key, value);
    if (typeof override === 'object') gathered.flags.set(key, override.flag);
  }
  return gathered;
}

/** One problem per zod issue, named by key (or by flag where the value came from one). */
function problemsOf(error: z.ZodError, keyOf: (path: string) => string, flags: ReadonlyMap<string, string>): SettingProblem[] {
  return error.issues.map((issue) => {
    const key = keyOf(String(issue.path[0] ?? ''));
    const flag = flags.get(key);
    // Inside a structured setting (a route rule): `TESSERA_ROUTES[2].roles`.
    const inner = issue.path[0] !== 'routes' ? '' : issue.path.slice(1).map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('');
    // `reportInput` is on, so a missing value is told apart from one of the wrong type. The input
    // itself is never printed: it may be a secret.
    const message = issue.code === 'invalid_type' && issue.input === undefined ? 'required'
      : issue.code === 'unrecognized_keys' && inner !== '' ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`
      : issue.code === 'unrecognized_keys' ? `unknown setting${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => optionToSetting[k as keyof typeof optionToSetting] ?? k).join(', ')}`
      : issue.message;
    return { key: (flag ?? key) + inner, message, fromFlag: flag !== undefined };
  });
}

/**
 * Validates options once and applies defaults. A bad configuration throws one
 * `ERR_CONFIG_INVALID` error whose message has one line per problem, naming the key.
 */
export function resolveConfig(input: TesseraOptionsInput | Record<string, unknown>, naming: 'env' | 'option' = 'option'): TesseraConfig {
  const result = optionsSchema.safeParse(input, { reportInput: true });
  if (result.success) return deriveConfig(result.data);
  const keyOf = (option: string) => (naming === 'env' ? (optionToSetting[option as keyof typeof optionToSetting] ?? option) : option);
  throw invalidConfiguration(problemsOf(result.error, keyOf, new Map()).map((p) => (p.key ? p : p.message)));
}

/**
 * Reads the whole Tessera configuration. `overrides` (flags) win over the environment, the
 * environment over the file, the file over `defaults`. Throws `ERR_CONFIG_INVALID` with every problem.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  configFile?: string,
  overrides: Overrides = {},
  defaults: Partial<Record<SettingName, string>> = {},
): TesseraConfig {
  const result = checkConfig(env, configFile, overrides, defaults);
  if (!result.ok) throw invalidConfiguration(result.problems);
  return result.config;
}

/** `loadConfig` that returns every problem instead of throwing (a command can add its own). */
export function checkConfig(
  env: NodeJS.ProcessEnv = process.env,
  configFile?: string,
  overrides: Overrides = {},
  defaults: Partial<Record<SettingName, string>> = {},
): { ok: true; config: TesseraConfig } | { ok: false; problems: SettingProblem[] } {
  const { values, flags, problems, unreadable } = gather(Object.keys(settingNames), env, configFile, overrides, defaults);
  if (unreadable) return { ok: false, problems: [unreadable] };
  const raw = Object.fromEntries([...values].map(([key, value]) => [settingNames[key as SettingName], value]));
  const result = optionsSchema.safeParse(raw, { reportInput: true });
  const keyOf = (option: string) => optionToSetting[option as keyof typeof optionToSetting] ?? option;
  const all = [...problems, ...(result.success ? [] : problemsOf(result.error, keyOf, flags))];
  if (all.length > 0 || !result.success) return { ok: false, problems: all };
  return { ok: true, config: deriveConfig(result.data) };
}

/**
 * Reads and checks only the settings `keys` (what a command such as `tessera sessions` needs),
 * from the same sources as `loadConfig`. Returns the values, or every problem.
 */
export function checkSettings<const K extends AnySettingName>(
  keys: readonly K[],
  env: NodeJS.ProcessEnv = process.env,
  configFile?: string,
  overrides: Overrides<K> = {},
): { ok: true; settings: Settings<K> } | { ok: false; problems: SettingProblem[] } {
  const { values, flags, problems, unreadable } = gather(keys, env, configFile, overrides, {});
  if (unreadable) return { ok: false, problems: [unreadable] };
  const shape = Object.fromEntries(keys.map((key) => [key, isSettingName(key) ? optionsSchema.shape[settingNames[key]] : devIdpSettings[key as DevIdpSettingName]]));
  const result = z.object(shape as Record<string, z.ZodType>).safeParse(Object.fromEntries(values), { reportInput: true });
  const all = [...problems, ...(result.success ? [] : problemsOf(result.error, (key) => key, flags))];
  if (all.length > 0 || !result.success) return { ok: false, problems: all };
  return { ok: true, settings: result.data as Settings<K> };
}

/** `checkSettings`, throwing `ERR_CONFIG_INVALID` with every problem. */
export function loadSettings<const K extends AnySettingName>(keys: readonly K[], env: NodeJS.ProcessEnv = process.env, configFile?: string, overrides: Overrides<K> = {}): Settings<K> {
  const result = checkSettings(keys, env, configFile, overrides);
  if (!result.ok) throw invalidConfiguration(result.problems);
  return result.settings;
}

/** The configuration as `TESSERA_*` pairs with secrets masked, for `tessera check-config`. */
export function describeConfig(config: TesseraConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined) continue;
    out[key] = secretOptions.has(key as never) ? mask(String(value)) : value;
  }
  if (typeof out.store === 'string') out.store = describeStore(out.store); // also ?password=…
  return out;
}

function mask(value: string): string {
  return value.length <= 8 ? '****' : `${value.slice(0, 2)}****${value.slice(-2)}`;
}
