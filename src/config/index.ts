export { loadConfig, checkConfig, loadSettings, checkSettings, invalidConfiguration, resolveConfig, describeConfig, type AnySettingName, type FlagValue, type Overrides, type SettingProblem, type Settings } from './load.js';
export { devIdpSettings, type DevIdpSettingName } from './dev-settings.js';
export { settingNames, isLoopbackUrl, isResolvedConfig, type TesseraConfig, type TesseraOptionsInput } from './schema.js';
export { mosaicRegions, type MosaicRegion } from './mosaic.js';
