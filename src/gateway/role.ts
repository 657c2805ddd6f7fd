import { readFileSync } from 'node:fs';
import { lineOptions, type ConnectSettings, type MetricsSettings, type SubscriberSettings, type ZmqSettings } from '../config/index.js';
import type { Logger } from '../log/index.js';
import type { RoleContext, RoleHandle } from '../role/index.js';
import { Gateway } from './gateway.js';
import { registerGatewayMetrics } from './metrics.js';
import type { GatewaySettings } from './settings.js';

/** What the gateway role reads of the configuration: its own keys, where the fabric is, and whether metrics are on. */
export interface GatewayRoleConfig {
  readonly gateway: GatewaySettings;
  readonly connect: Pick<ConnectSettings, 'backend' | 'snapshot' | 'snapshotTimeoutMs'>;
  readonly subscriber: SubscriberSettings;
  readonly zmq: ZmqSettings;
  readonly metrics: Pick<MetricsSettings, 'enabled'>;
}

export interface GatewayRole extends RoleHandle {
  readonly gateway: Gateway;
}

/** The gateway role as configured: a late joiner of the fabric serving WebSocket clients. */
export async function startGatewayRole(config: GatewayRoleConfig, log: Logger, { version, security }: RoleContext): Promise<GatewayRole> {
  const { tls: files, ...options } = config.gateway;
  const gateway = new Gateway({
    ...options,
    tls: files.certFile === '' ? undefined : { cert: readPem(files.certFile, 'gateway.tls.certFile'), key: readPem(files.keyFile, 'gateway.tls.keyFile') },
    version,
    measureLatency: config.metrics.enabled,
    upstream: {
      ...lineOptions(config),
      heartbeatIntervalMs: config.zmq.heartbeatIntervalMs,
      heartbeatTimeoutMs: config.zmq.heartbeatTimeoutMs,
      backends: config.connect.backend,
      snapshotEndpoints: config.connect.snapshot,
      snapshotTimeoutMs: config.connect.snapshotTimeoutMs,
      lingerMs: config.gateway.upstreamLingerMs,
      curve: security.clientKeys(),
    },
  }, log);
  try {
    await gateway.listen();
  } catch (err) {
    await gateway.close();
    throw err;
  }
  return {
    gateway,
    registerMetrics: (registry) => registerGatewayMetrics(registry, gateway),
    ready: () => gateway.ready(),
    drain: () => gateway.drain(),
    stop: () => gateway.close(),
  };
}

function readPem(file: string, setting: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file} (setting ${setting}): ${(err as Error).message}`);
  }
}
