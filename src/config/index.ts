export { loadConfig, settingKeys, ConfigError, CONFIG_FILE_ENV, type LoadOptions } from './load.js';
export { ROLES, schema, type Role, type TickfanConfig } from './schema.js';
export { renderConfigReference, withConfigReference } from './reference.js';
