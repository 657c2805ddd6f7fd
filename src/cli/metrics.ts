import type { Registry } from 'prom-client';
import type { MetricsSettings } from '../config/index.js';
import type { Logger } from '../log/index.js';
import { createRegistry, MetricsServer, type ReadinessCheck } from '../metrics/index.js';
import type { RunningRole } from './roles.js';

/**
 * The process's metrics endpoint (PROTOCOL.md section 6): one registry with the default
 * process metrics and every role this process runs, served with /healthz and /readyz.
 */
export class ProcessMetrics {
  private readonly registry: Registry = createRegistry();
  private readonly checks: ReadinessCheck[] = [];
  private readonly server: MetricsServer;

  constructor(log: Logger) {
    this.server = new MetricsServer(this.registry, this.checks, log);
  }

  /** Listens before any role starts, so a port in use stops the start-up at once. */
  listen(settings: MetricsSettings): Promise<number> {
    return this.server.listen(settings);
  }

  /** Adds the roles' metrics and readiness checks. */
  observe(roles: readonly RunningRole[]): void {
    for (const { role, handle } of roles) {
      handle.registerMetrics(this.registry);
      this.checks.push({ name: role, check: () => handle.ready() });
    }
  }

  /** Adds metrics of the process as a whole rather than of one role (the fabric's CURVE). */
  register(add: (registry: Registry) => void): void {
    add(this.registry);
  }

  close(): Promise<void> {
    return this.server.close();
  }
}
