/** Role-independent configuration machinery; the CLI composes the roles' settings with the shared keys. */
export { loadSettings, settingKeys, ConfigError, CONFIG_FILE_ENV, type LoadOptions, type SettingsCheck } from './load.js';
export {
  sharedSchema, HWM_DOC, zmqSocketOptions, lineOptions,
  type SharedSettings, type ZmqSocketOptions, type LogSettings, type ZmqSettings, type MetricsSettings, type ConnectSettings, type SubscriberSettings,
} from './shared.js';
export { BOOLEAN, ZMQ_ENDPOINT, checkedFormat, integerIn, isZmqEndpoint, jsonFromString, splitList } from './formats.js';
export { renderConfigReference, withConfigReference } from './reference.js';
