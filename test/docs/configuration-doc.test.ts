import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { configurationDoc, renderConfigurationDoc, settingsTable, undescribedSettings } from '../../scripts/config-docs.js';
import { settingNames } from '../../src/config/schema.js';

test('every setting of the schema has a description', () => {
  const missing = undescribedSettings();
  assert.deepEqual(missing, [], `no description for ${missing.join(', ')}: add it to settingDocs in src/config/schema.ts, then run npm run docs`);
});

test('docs/configuration.md is what npm run docs generates from the schema', () => {
  const committed = readFileSync(configurationDoc, 'utf8');
  assert.ok(committed === renderConfigurationDoc(committed), 'docs/configuration.md differs from the schema: run npm run docs (and commit the result)');
});

test('the generated table has one row per setting, with the schema default', () => {
  const rows = settingsTable().split('\n').slice(2);
  assert.equal(rows.length, Object.keys(settingNames).length);
  assert.ok(rows.includes(rows.find((r) => r.startsWith('| `TESSERA_IDLE_TIMEOUT` | `idleTimeout` | `30m` |'))!));
  assert.match(settingsTable(), /\| `TESSERA_CLIENT_ID` \| `clientId` \| required \|/);
  // A hand edit of a generated row is caught.
  const committed = readFileSync(configurationDoc, 'utf8');
  assert.notEqual(renderConfigurationDoc(committed.replace('| `TESSERA_PORT` | `port` | `3000` |', '| `TESSERA_PORT` | `port` | `8080` |')), committed.replace('`3000`', '`8080`'));
});
