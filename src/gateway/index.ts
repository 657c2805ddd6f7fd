export { Gateway, type GatewayOptions } from './gateway.js';
export { startGatewayRole } from './role.js';
export { registerGatewayMetrics } from './metrics.js';
