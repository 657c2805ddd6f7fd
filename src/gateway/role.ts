import { readFileSync } from 'node:fs';
import type { TickfanConfig } from '../config/index.js';
import type { Logger } from '../log/index.js';
import { Gateway } from './gateway.js';

/** The gateway role as configured: a late joiner of the fabric serving WebSocket clients. */
export async function startGatewayRole(config: TickfanConfig, log: Logger, version: string): Promise<Gateway> {
  const { tls: files, ...options } = config.gateway;
  const gateway = new Gateway({
    ...options,
    tls: files.certFile === '' ? undefined : { cert: readPem(files.certFile, 'gateway.tls.certFile'), key: readPem(files.keyFile, 'gateway.tls.keyFile') },
    version,
    measureLatency: config.metrics.enabled,
    upstream: {
      backend: config.connect.backend,
      snapshotEndpoints: config.connect.snapshot,
      snapshotTimeoutMs: config.connect.snapshotTimeoutMs,
      receiveHwm: config.subscriber.receiveHwm,
      lingerMs: config.gateway.upstreamLingerMs,
    },
  }, log);
  try {
    await gateway.listen();
  } catch (err) {
    await gateway.close();
    throw err;
  }
  return gateway;
}

function readPem(file: string, setting: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file} (setting ${setting}): ${(err as Error).message}`);
  }
}
