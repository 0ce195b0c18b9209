// The settings table of docs/configuration.md, generated from src/config/schema.ts (`npm run docs`).
import { readFileSync } from 'node:fs';
import { optionsSchema, settingDocs, settingNames, type SettingName } from '../src/config/schema.js';
import { formatDuration } from '../src/lib/duration.js';

export const configurationDoc = new URL('../docs/configuration.md', import.meta.url);
const begin = '<!-- settings: generated from src/config/schema.ts by `npm run docs`; edit the descriptions there -->';
const end = '<!-- end of settings -->';

const durations = new Set(['idleTimeout', 'absoluteTimeout', 'sessionCacheTtl', 'sendTimeout']);

/** Keys of the schema without a description in `settingDocs`. */
export function undescribedSettings(): SettingName[] {
  return (Object.keys(settingNames) as SettingName[]).filter((key) => !settingDocs[key]?.description);
}

function shownDefault(key: SettingName): string {
  const doc = settingDocs[key];
  if (doc?.shown !== undefined) return doc.shown;
  const option = settingNames[key];
  const def = (optionsSchema.shape[option] as unknown as { _zod: { def: { type: string; defaultValue?: unknown } } })._zod.def;
  if (def.type === 'optional') return '—';
  if (def.type !== 'default') return 'required';
  const value = def.defaultValue;
  if (Array.isArray(value)) return value.length === 0 ? '—' : `\`${value.join(' ')}\``;
  if (typeof value === 'number' && durations.has(option)) return `\`${formatDuration(value)}\``;
  return `\`${String(value)}\``;
}

export function settingsTable(): string {
  const rows = (Object.keys(settingNames) as SettingName[]).map((key) =>
    `| \`${key}\` | \`${settingNames[key]}\` | ${shownDefault(key)} | ${(settingDocs[key]?.description ?? '').replace(/\|/g, '\\|')} |`);
  return ['| setting | option | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

/** docs/configuration.md as `npm run docs` writes it: the prose as committed, the table regenerated. */
export function renderConfigurationDoc(current = readFileSync(configurationDoc, 'utf8')): string {
  const from = current.indexOf(begin);
  const to = current.indexOf(end);
  if (from < 0 || to < from) throw new Error(`docs/configuration.md: the markers ${begin} … ${end} are missing`);
  return `${current.slice(0, from + begin.length)}\n${settingsTable()}\n${current.slice(to)}`;
}
