import type { Registry } from 'prom-client';
import type { Role, TickfanConfig } from '../config/index.js';
import { registerFeedMetrics, startFeedRole } from '../feeds/index.js';
import { registerGatewayMetrics, startGatewayRole } from '../gateway/index.js';
import type { Logger } from '../log/index.js';
import { registerProxyMetrics, startProxyRole } from '../proxy/index.js';
import { registerSnapshotMetrics, startSnapshotRole } from '../snapshot/index.js';
import { VERSION } from './version.js';

export interface RunningRole {
  readonly role: Role;
  /** Adds the role's metrics to the process registry. */
  registerMetrics(registry: Registry): void;
  /** Whether the role can do its job now (PROTOCOL.md section 6, /readyz). */
  ready(): boolean | Promise<boolean>;
  stop(): Promise<void>;
}

type RoleHandle = Omit<RunningRole, 'role'>;

/**
 * Every role's entry point. Roles share nothing but the configured ZeroMQ endpoints, so
 * the all-in-one process and one process per role run exactly the same code.
 */
const starters: Record<Role, (config: TickfanConfig, log: Logger) => Promise<RoleHandle>> = {
  proxy: async (config, log) => {
    const proxy = await startProxyRole(config, log);
    // Bound, so feeds and subscribers can connect.
    return { stop: () => proxy.close(), registerMetrics: (registry) => registerProxyMetrics(registry, proxy), ready: () => true };
  },
  snapshot: async (config, log) => {
    const snapshot = await startSnapshotRole(config, log);
    return { stop: () => snapshot.stop(), registerMetrics: (registry) => registerSnapshotMetrics(registry, snapshot), ready: () => true };
  },
  gateway: async (config, log) => {
    const gateway = await startGatewayRole(config, log, VERSION);
    return { stop: () => gateway.close(), registerMetrics: (registry) => registerGatewayMetrics(registry, gateway), ready: () => gateway.ready() };
  },
  feed: async (config, log) => {
    const feed = await startFeedRole(config, log);
    return { stop: () => feed.stop(), registerMetrics: (registry) => registerFeedMetrics(registry, feed), ready: () => true };
  },
};

/** Starts the configured roles in dependency order; on a failure, stops the ones already up. */
export async function startRoles(config: TickfanConfig, roles: readonly Role[], log: Logger): Promise<RunningRole[]> {
  const running: RunningRole[] = [];
  const ordered = Object.keys(starters).filter((role) => roles.includes(role as Role)) as Role[];
  try {
    for (const role of ordered) {
      const handle = await starters[role](config, log.child({ role }));
      running.push({ role, ...handle });
    }
  } catch (err) {
    await stopRoles(running);
    throw err;
  }
  return running;
}

/** Stops in reverse start order, so feeds stop before the proxy they publish through. */
export async function stopRoles(running: readonly RunningRole[]): Promise<void> {
  for (const role of [...running].reverse()) await role.stop();
}
