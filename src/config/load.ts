import { readFileSync } from 'node:fs';
import { TesseraError } from '../errors.js';
import { describeStore } from './store-spec.js';
import {
  deriveConfig, optionsSchema, optionToSetting, secretOptions, settingNames,
  type SettingName, type TesseraConfig, type TesseraOptionsInput,
} from './schema.js';

/**
 * Validates options once and applies defaults. A bad configuration throws one
 * `ERR_CONFIG_INVALID` error whose message has one line per problem, naming the key.
 */
export function resolveConfig(input: TesseraOptionsInput | Record<string, unknown>, naming: 'env' | 'option' = 'option'): TesseraConfig {
  const result = optionsSchema.safeParse(input);
  if (result.success) return deriveConfig(result.data);
  const lines = result.error.issues.map((issue) => {
    const option = String(issue.path[0] ?? '');
    const name = naming === 'env' ? (optionToSetting[option as keyof typeof optionToSetting] ?? option) : option;
    const message = issue.code === 'invalid_type' && issue.input === undefined ? 'required'
      : issue.code === 'unrecognized_keys' ? `unknown setting${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => optionToSetting[k as keyof typeof optionToSetting] ?? k).join(', ')}`
      : issue.message;
    return name ? `${name}: ${message}` : message;
  });
  throw new TesseraError('ERR_CONFIG_INVALID', `Invalid configuration:\n  ${lines.join('\n  ')}`);
}

/**
 * Reads settings from the environment and, when given, a JSON file with the same `TESSERA_*`
 * keys. The environment wins over the file.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, configFile?: string, overrides: Partial<Record<SettingName, string>> = {}): TesseraConfig {
  const raw: Record<string, unknown> = {};
  const unknown: string[] = [];
  if (configFile !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(configFile, 'utf8'));
    } catch (cause) {
      throw new TesseraError('ERR_CONFIG_INVALID', `Invalid configuration:\n  --config ${configFile}: ${(cause as Error).message}`, { cause });
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new TesseraError('ERR_CONFIG_INVALID', `Invalid configuration:\n  --config ${configFile}: expected a JSON object of TESSERA_* keys`);
    }
    for (const [key, value] of Object.entries(json)) {
      if (key in settingNames) raw[settingNames[key as SettingName]] = value;
      else unknown.push(key);
    }
  }
  for (const [key, option] of Object.entries(settingNames)) {
    const value = overrides[key as SettingName] ?? env[key];
    if (value !== undefined && value !== '') raw[option] = value;
  }
  if (unknown.length > 0) {
    throw new TesseraError('ERR_CONFIG_INVALID', `Invalid configuration:\n  ${unknown.map((k) => `${k}: unknown setting`).join('\n  ')}`);
  }
  return resolveConfig(raw, 'env');
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
