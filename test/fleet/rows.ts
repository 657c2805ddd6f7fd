/**
 * The rows of the fault matrix: each names a fault, the rate it is injected at, and how it is
 * injected and undone. test/fleet/matrix.test.ts runs them in this order on one fleet;
 * docs/reliability.md lists exactly these rows (test/fleet/doc.test.ts checks it).
 */
import type { Fleet, RoleHost } from './fleet.js';

export interface Row {
  /** The fault as the matrix names it. */
  readonly fault: string;
  /** Ticks per second the source publishes during the row. */
  readonly rate: number;
  /** Injects the fault; resolves once it has taken effect (the process gone, the link down): recovery is measured from then. */
  readonly inject: (fleet: Fleet) => Promise<void>;
  /** Undoes it (restart, SIGCONT, link up, heal); resolves once the fleet is whole again. */
  readonly undo: (fleet: Fleet) => Promise<void>;
  /** Besides what every row asserts: the snapshot services answer no REPLAY during the row. */
  readonly noReplay?: boolean;
}

type Fault = Pick<Row, 'fault' | 'inject' | 'undo'>;

const isGateway = (host: RoleHost): host is 'gateway-1' | 'gateway-2' => host === 'gateway-1' || host === 'gateway-2';

/** SIGKILL, and the same command line started again (a gateway: until the load balancer has it back in rotation). */
function killed(host: RoleHost): Fault {
  return {
    fault: `SIGKILL ${host}, restarted`,
    inject: (fleet) => fleet.end(host, 'SIGKILL'),
    undo: async (fleet) => {
      await fleet.startRole(host);
      if (isGateway(host)) await fleet.inRotation(host, true);
    },
  };
}

/** SIGSTOP: the process hangs with its sockets open, as a stuck host would; SIGCONT after `ms`. */
function stopped(host: RoleHost, ms: number): Fault {
  return {
    fault: `SIGSTOP ${host} for ${ms / 1000} s, then SIGCONT`,
    inject: async (fleet) => fleet.signal(host, 'SIGSTOP'),
    undo: async (fleet) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      fleet.signal(host, 'SIGCONT');
    },
  };
}

/** Each gateway in turn: SIGTERM (it drains), restarted, and back in the load balancer's rotation before the next. */
const rollingDeploy: Fault = {
  fault: 'rolling deploy: SIGTERM (drain) and restart gateway-1, then gateway-2',
  inject: async (fleet) => fleet.signal('gateway-1', 'SIGTERM'),
  undo: async (fleet) => {
    for (const gateway of ['gateway-1', 'gateway-2'] as const) {
      if (gateway === 'gateway-2') fleet.signal(gateway, 'SIGTERM');
      await fleet.ended(gateway);
      await fleet.startRole(gateway);
      await fleet.inRotation(gateway, true);
    }
  },
};

export const ROWS: readonly Row[] = [
  { ...killed('feed'), rate: 2_000 },
  { ...killed('snapshot-a'), rate: 2_000 },
  { ...killed('gateway-1'), rate: 2_000 },
  { ...stopped('gateway-1', 10_000), rate: 2_000 },
  { ...rollingDeploy, rate: 2_000 },
];
