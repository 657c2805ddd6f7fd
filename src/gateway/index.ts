export { Gateway, WS_PATH, MAX_PAYLOAD_BYTES, type GatewayOptions } from './gateway.js';
export { startGatewayRole } from './role.js';
export { registerGatewayMetrics } from './metrics.js';
