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
  /** Injects the fault and undoes it (restart, SIGCONT, link up, heal); resolves once the fleet is whole again. */
  readonly inject: (fleet: Fleet) => Promise<void>;
  /** Besides what every row asserts: the snapshot services answer no REPLAY during the row. */
  readonly noReplay?: boolean;
}

function killAndRestart(host: RoleHost) {
  return async (fleet: Fleet): Promise<void> => {
    await fleet.end(host, 'SIGKILL');
    await fleet.startRole(host);
  };
}

export const ROWS: readonly Row[] = [
  { fault: 'SIGKILL snapshot-a, restarted', rate: 2_000, inject: killAndRestart('snapshot-a') },
];
