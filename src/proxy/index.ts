export { startProxy, PROXY_MODES, type ForwardingMode, type ProxyMode, type ProxyOptions, type RunningProxy } from './proxy.js';
export type { UpstreamState } from './frontend-peers.js';
export { startProxyRole, type ProxyRole, type ProxyRoleConfig } from './role.js';
export { registerProxyMetrics } from './metrics.js';
export { proxySchema, proxySettingsProblem, type ProxySettings } from './settings.js';
