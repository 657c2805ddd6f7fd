export { Gateway, type GatewayOptions } from './gateway.js';
export { startGatewayRole, type GatewayRole, type GatewayRoleConfig } from './role.js';
export { registerGatewayMetrics } from './metrics.js';
export { gatewaySchema, gatewaySettingsProblem, type GatewaySettings } from './settings.js';
