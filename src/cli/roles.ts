import { FabricSecurity } from '../curve/index.js';
import type { Logger } from '../log/index.js';
import { startFeedRole } from '../feeds/index.js';
import { startGatewayRole } from '../gateway/index.js';
import { startProxyRole } from '../proxy/index.js';
import type { RoleContext, RoleHandle } from '../role/index.js';
import { startSnapshotRole } from '../snapshot/index.js';
import type { TickfanConfig } from './config.js';
import { VERSION } from './version.js';

/** Roles `tickfan start` can run, in start-up order (each needs the ones before it to be reachable). */
export const ROLES = ['proxy', 'snapshot', 'gateway', 'feed'] as const;
export type Role = (typeof ROLES)[number];

export interface RunningRole {
  readonly role: Role;
  readonly handle: RoleHandle;
}

/**
 * Every role's entry point: it takes the part of the configuration it reads (the whole one
 * fits), the logger and the process's version. Roles share nothing but the configured ZeroMQ
 * endpoints, so the all-in-one process and one process per role run exactly the same code.
 */
const STARTERS: Readonly<Record<Role, (config: TickfanConfig, log: Logger, context: RoleContext) => Promise<RoleHandle>>> = {
  proxy: startProxyRole,
  snapshot: startSnapshotRole,
  gateway: startGatewayRole,
  feed: startFeedRole,
};

/** Starts the configured roles in dependency order; on a failure, stops the ones already up. */
export async function startRoles(config: TickfanConfig, roles: readonly Role[], log: Logger, security: FabricSecurity = FabricSecurity.PLAIN): Promise<RunningRole[]> {
  const running: RunningRole[] = [];
  try {
    for (const role of ROLES.filter((name) => roles.includes(name))) {
      running.push({ role, handle: await STARTERS[role](config, log.child({ role }), { version: VERSION, security, roles }) });
    }
  } catch (err) {
    await stopRoles(running);
    throw err;
  }
  return running;
}

/** The longest the roles' drain may take on SIGTERM: the gateway's window when it runs here. */
export function drainWindowMs(config: TickfanConfig, roles: readonly Role[]): number {
  return roles.includes('gateway') ? config.gateway.drainMs : 0;
}

/** Drains the roles that hold clients, together, while every role still runs (so clients keep their stream until handed over). */
export async function drainRoles(running: readonly RunningRole[]): Promise<void> {
  await Promise.all(running.map(({ handle }) => handle.drain?.()));
}

/** Stops in reverse start order, so feeds stop before the proxy they publish through. */
export async function stopRoles(running: readonly RunningRole[]): Promise<void> {
  for (const { handle } of [...running].reverse()) await handle.stop();
}
