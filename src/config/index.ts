export { loadConfig, resolveConfig, describeConfig } from './load.js';
export { settingNames, isLoopbackUrl, type TesseraConfig, type TesseraOptionsInput } from './schema.js';
export { mosaicRegions, type MosaicRegion } from './mosaic.js';
