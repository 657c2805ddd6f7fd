import { zmqSocketOptions, type ZmqSettings } from '../config/index.js';
import type { Logger } from '../log/index.js';
import type { RoleContext, RoleHandle } from '../role/index.js';
import { registerProxyMetrics } from './metrics.js';
import { startProxy, type ForwardingMode, type ProxyMode, type RunningProxy } from './proxy.js';
import type { ProxySettings } from './settings.js';

/** What the proxy role reads of the configuration: its own keys and the shared socket options. */
export interface ProxyRoleConfig {
  readonly proxy: ProxySettings;
  readonly zmq: ZmqSettings;
}

export interface ProxyRole extends RoleHandle {
  readonly proxy: RunningProxy;
}

/** The proxy role as configured: binds the frontend and backend of PROTOCOL.md section 3. */
export async function startProxyRole(config: ProxyRoleConfig, log: Logger, { security, roles }: RoleContext): Promise<ProxyRole> {
  const proxy = await startProxy({
    ...config.proxy,
    mode: forwardingMode(config.proxy.mode, roles),
    socket: zmqSocketOptions(config.zmq),
    upstreamHeartbeat: { intervalMs: config.zmq.heartbeatIntervalMs, timeoutMs: config.zmq.heartbeatTimeoutMs },
  }, log, security);
  return {
    proxy,
    registerMetrics: (registry) => registerProxyMetrics(registry, proxy),
    // Bound (not rebuilding after a revocation), so feeds and subscribers can connect; with
    // upstreams, linked to at least one of them, or it has nothing to forward.
    ready: () => proxy.listening() && proxy.upstreamReady(),
    stop: () => proxy.close(),
  };
}

/** Roles that read the proxy's backend: beside one of them, the js loop hands it each message without a socket. */
const READERS = ['snapshot', 'gateway'];

/** How `auto` forwards: in JavaScript when this process reads the backend itself, in libzmq's thread otherwise. */
function forwardingMode(mode: ProxyMode, roles: readonly string[]): ForwardingMode {
  if (mode !== 'auto') return mode;
  return roles.some((role) => READERS.includes(role)) ? 'js' : 'native';
}
