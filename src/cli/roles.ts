import type { Role, TickfanConfig } from '../config/index.js';
import { startFeedRole } from '../feeds/index.js';
import type { Logger } from '../log/index.js';
import { VERSION } from './version.js';
import { startGatewayRole } from '../gateway/index.js';
import { startProxyRole } from '../proxy/index.js';
import { startSnapshotRole } from '../snapshot/index.js';

export interface RunningRole {
  readonly role: Role;
  stop(): Promise<void>;
}

/**
 * Every role's entry point. Roles share nothing but the configured ZeroMQ endpoints, so
 * the all-in-one process and one process per role run exactly the same code.
 */
const starters: Record<Role, (config: TickfanConfig, log: Logger) => Promise<{ stop(): Promise<void> }>> = {
  proxy: async (config, log) => {
    const proxy = await startProxyRole(config, log);
    return { stop: () => proxy.close() };
  },
  snapshot: startSnapshotRole,
  gateway: async (config, log) => {
    const gateway = await startGatewayRole(config, log, VERSION);
    return { stop: () => gateway.close() };
  },
  feed: startFeedRole,
};

/** Starts the configured roles in dependency order; on a failure, stops the ones already up. */
export async function startRoles(config: TickfanConfig, roles: readonly Role[], log: Logger): Promise<RunningRole[]> {
  const running: RunningRole[] = [];
  const ordered = Object.keys(starters).filter((role) => roles.includes(role as Role)) as Role[];
  try {
    for (const role of ordered) {
      const handle = await starters[role](config, log.child({ role }));
      running.push({ role, stop: () => handle.stop() });
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
