export { startProxy, type ProxyMode, type ProxyOptions, type RunningProxy } from './proxy.js';
export { startProxyRole } from './role.js';
export { registerProxyMetrics } from './metrics.js';
