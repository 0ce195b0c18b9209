export { parseKeyRing, generateKeyEntry, type KeyRing } from './keyring.js';
export { developmentKeys } from './development.js';
