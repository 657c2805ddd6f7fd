import type { TickfanConfig } from '../config/index.js';
import type { Logger } from '../log/index.js';
import { startProxy, type RunningProxy } from './proxy.js';

/** The proxy role as configured: binds the frontend and backend of PROTOCOL.md section 3. */
export function startProxyRole(config: TickfanConfig, log: Logger): Promise<RunningProxy> {
  return startProxy({ ...config.proxy, lingerMs: config.zmq.lingerMs }, log);
}
