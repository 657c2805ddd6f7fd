/** Command-line options of bench/connections.ts. */
import { parseArgs } from 'node:util';
import { integer, list, positive } from '../common/args.js';
import { MAX_PER_ADDRESS } from './shares.js';

export interface ConnectionsOptions {
  readonly quick: boolean;
  readonly connections: readonly number[];
  readonly perProcess: number;
  /** How long idle CPU is measured: a heartbeat interval at least (5 s), ideally a ping interval (15 s). */
  readonly idleSeconds: number;
}

export const USAGE = `Usage: npm run bench:connections -- [options]

  --connections N,M,...   connection counts, each a run of its own (default 10000,50000)
  --quick                 a shorter idle window (5 s instead of 15 s)
  --idle-seconds N        the idle CPU window (default 15, --quick 5)
  --per-process N         clients per load process, each from its own 127.0.0.x (default 10000, at most ${MAX_PER_ADDRESS})`;

export function parseOptions(argv: readonly string[]): ConnectionsOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      quick: { type: 'boolean', default: false },
      connections: { type: 'string', default: '10000,50000' },
      'idle-seconds': { type: 'string' },
      'per-process': { type: 'string', default: '10000' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  return {
    quick: values.quick,
    connections: list(values.connections, 'connections').map((n) => integer(n, 'connections', 1, 200_000)),
    perProcess: integer(values['per-process'], 'per-process', 1, MAX_PER_ADDRESS),
    idleSeconds: values['idle-seconds'] === undefined ? (values.quick ? 5 : 15) : positive(values['idle-seconds'], 'idle-seconds'),
  };
}
