// npm run docs: regenerates the generated parts of docs/ from the source.
import { writeFileSync } from 'node:fs';
import { configurationDoc, renderConfigurationDoc, undescribedSettings } from './config-docs.js';

const missing = undescribedSettings();
if (missing.length > 0) {
  console.error(`no description for ${missing.join(', ')}: add it to settingDocs in src/config/schema.ts, then run npm run docs`);
  process.exit(1);
}
writeFileSync(configurationDoc, renderConfigurationDoc());
console.log('docs/configuration.md written');
