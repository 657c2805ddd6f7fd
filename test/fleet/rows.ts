/**
 * The rows of the fault matrix: each names a fault, the rate it is injected at, and how it is
 * injected and undone. test/fleet/matrix.test.ts runs them in this order on one fleet;
 * docs/reliability.md lists exactly these rows (test/fleet/doc.test.ts checks it).
 */
import type { Fleet, RoleHost } from './fleet.js';
import type { Partition } from './net.js';

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
      if (isGateway(host)) await fleet.haproxy.waitForServer(host, 'UP');
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

/** `host`'s link to the bridge down (its interface loses carrier, TCP connections stay open but carry nothing), up after `ms`. */
function linkDown(host: RoleHost, ms: number): Fault {
  return {
    fault: `${host}'s link down for ${ms / 1000} s`,
    inject: (fleet) => fleet.network.linkDown(host).then(() => undefined),
    undo: async (fleet) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      await fleet.network.linkUp(host);
    },
  };
}

/** Drop rules in `host`'s namespace against every packet to or from `others`, removed after `ms`. */
function partitioned(host: RoleHost, others: readonly RoleHost[], ms: number): Fault {
  let partition: Partition | undefined;
  return {
    fault: `partition between ${host} and ${others.join(', ')} for ${ms / 1000} s`,
    inject: async (fleet) => {
      partition = await fleet.network.partition([host], others);
    },
    undo: async () => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      await partition!.heal();
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
      await fleet.haproxy.waitForServer(gateway, 'UP');
    }
  },
};

/** No fault: what the fleet costs its clients anyway on this machine (latency, scheduling), to read the other rows against. */
const baseline: Fault = { fault: 'none (baseline)', inject: async () => undefined, undo: async () => undefined };

export const ROWS: readonly Row[] = [
  { ...baseline, rate: 2_000 },
  { ...killed('feed'), rate: 2_000 },
  // Issue 13's acceptance: losing a whole line at 5,000 ticks/s costs no client anything, not even a REPLAY.
  { ...killed('proxy-a'), rate: 5_000, noReplay: true },
  { ...killed('snapshot-a'), rate: 2_000 },
  { ...killed('gateway-1'), rate: 2_000 },
  { ...stopped('gateway-1', 10_000), rate: 2_000 },
  { ...linkDown('proxy-a', 5_000), rate: 2_000 },
  { ...partitioned('gateway-1', ['proxy-a', 'proxy-b'], 5_000), rate: 2_000 },
  { ...rollingDeploy, rate: 2_000 },
];
