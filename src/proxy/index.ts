export { startProxy, type ProxyMode, type ProxyOptions, type RunningProxy } from './proxy.js';
export { startProxyRole, type ProxyRole, type ProxyRoleConfig } from './role.js';
export { registerProxyMetrics } from './metrics.js';
export { PROXY_MODES, proxySchema, proxySettingsProblem, type ProxySettings } from './settings.js';
