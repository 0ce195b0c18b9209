import {
  checkSettings, invalidConfiguration, type AnySettingName, type Overrides, type SettingProblem, type Settings,
} from '../config/index.js';
import { UsageError } from './command.js';

type Values = Record<string, string | boolean | undefined>;

/** The `--config` file a command was given. */
export const configFileOf = (values: Values): string | undefined => (typeof values.config === 'string' ? values.config : undefined);

/** The flags that override settings, e.g. `{ TESSERA_DATA_DIR: 'data-dir' }`, as the loader's overrides. */
export function flagOverrides<K extends string>(values: Values, flags: Partial<Record<K, string>>): Overrides<K> {
  const overrides: Overrides<K> = {};
  for (const [key, flag] of Object.entries(flags) as [K, string][]) {
    const value = values[flag];
    overrides[key] = { flag: `--${flag}`, value: typeof value === 'string' ? value : undefined };
  }
  return overrides;
}

/**
 * Reports every problem at once, one line each: the `usage` problems a command found itself
 * and the loader's. A problem on the command line (a missing argument, a flag's value) makes it a
 * usage error (exit 2); otherwise it is a configuration error (`ERR_CONFIG_INVALID`, exit 1).
 */
export function fail(usage: readonly string[], problems: readonly SettingProblem[]): never {
  const lines = [...new Set([...usage, ...problems.map((p) => `${p.key}: ${p.message}`)])];
  if (usage.length > 0 || problems.every((p) => p.fromFlag)) throw new UsageError(lines.join('\n'));
  throw invalidConfiguration(lines);
}

/**
 * The settings a command takes, through the one loader: the `--config` file, the environment,
 * and the command's `flags` as overrides (a flag wins over the environment).
 */
export function readSettings<const K extends AnySettingName>(
  keys: readonly K[],
  values: Values,
  flags: Partial<Record<K, string>> = {},
  usage: readonly string[] = [],
): Settings<K> {
  const result = checkSettings(keys, process.env, configFileOf(values), flagOverrides(values, flags));
  if (result.ok && usage.length === 0) return result.settings;
  return fail(usage, result.ok ? [] : result.problems);
}
