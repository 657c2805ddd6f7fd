import type { TickfanConfig } from '../config/index.js';
import type { Logger } from '../log/index.js';
import { Gateway } from './gateway.js';

/** The gateway role as configured: a late joiner of the fabric serving WebSocket clients. */
export async function startGatewayRole(config: TickfanConfig, log: Logger, version: string): Promise<Gateway> {
  const gateway = new Gateway({
    ...config.gateway,
    version,
    upstream: {
      backend: config.connect.backend,
      snapshotEndpoints: config.connect.snapshot,
      snapshotTimeoutMs: config.connect.snapshotTimeoutMs,
      receiveHwm: config.subscriber.receiveHwm,
      lingerMs: config.gateway.upstreamLingerMs,
    },
  }, log);
  await gateway.listen();
  return gateway;
}
