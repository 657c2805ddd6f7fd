/** Command-line options of bench/fanout.ts. */
import { parseArgs } from 'node:util';
import { integer, list, positive } from '../common/args.js';
import { CASE_NAMES, caseOf, type Case, type CaseName } from './cases.js';

export interface FanoutOptions {
  readonly quick: boolean;
  readonly cases: readonly Case[];
  readonly warmupSeconds: number;
  readonly seconds: number;
  /** Clients per load process; undefined: a quarter of N from 1,000 clients up, half of N below. */
  readonly clientsPerProcess: number | undefined;
  /** Extra settings of the gateway under test (TICKFAN_GATEWAY_FLUSH_INTERVAL_MS=10, ...). */
  readonly gatewayEnv: Readonly<Record<string, string>>;
}

export const USAGE = `Usage: npm run bench:fanout -- [options]

  --quick                   fewer steps (starting lower) and shorter windows: about 5 minutes with every case
  --cases a,b,...           which cases to run (default all: ${CASE_NAMES.join(',')})
  --warmup N                warm-up seconds of each step before its window (default 1.5, --quick 1)
  --seconds N               measured window of each step (default 3, --quick 2)
  --clients-per-process N   WebSocket clients per load process (default 250 for 1,000 clients, 50 for 100)
  --gateway-env K=V,...     extra TICKFAN_* settings of the gateway under test, to compare settings`;

export function parseOptions(argv: readonly string[]): FanoutOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      quick: { type: 'boolean', default: false },
      cases: { type: 'string', default: CASE_NAMES.join(',') },
      warmup: { type: 'string' },
      seconds: { type: 'string' },
      'clients-per-process': { type: 'string' },
      'gateway-env': { type: 'string', default: '' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick;
  return {
    quick,
    cases: list(values.cases, 'cases').map((name) => caseOf(caseName(name), quick)),
    warmupSeconds: values.warmup === undefined ? (quick ? 1 : 1.5) : positive(values.warmup, 'warmup'),
    // The backlog check compares the window's first and last second: below 2 s they would overlap.
    seconds: values.seconds === undefined ? (quick ? 2 : 3) : atLeastTwo(positive(values.seconds, 'seconds')),
    clientsPerProcess: values['clients-per-process'] === undefined ? undefined : integer(values['clients-per-process'], 'clients-per-process', 1, 10_000),
    gatewayEnv: settings(values['gateway-env']),
  };
}

function caseName(value: string): CaseName {
  if (!(CASE_NAMES as readonly string[]).includes(value)) throw new Error(`--cases: unknown ${JSON.stringify(value)}, expected some of ${CASE_NAMES.join(', ')}`);
  return value as CaseName;
}

function settings(value: string): Record<string, string> {
  const entries = value === '' ? [] : list(value, 'gateway-env').map((item) => item.split('='));
  for (const entry of entries) {
    if (entry.length !== 2 || !entry[0]!.startsWith('TICKFAN_')) throw new Error(`--gateway-env: expected TICKFAN_NAME=VALUE items, got ${JSON.stringify(entry.join('='))}`);
  }
  return Object.fromEntries(entries);
}

function atLeastTwo(seconds: number): number {
  if (seconds < 2) throw new Error(`--seconds must be at least 2 (the backlog check compares the window's first and last second), got ${seconds}`);
  return seconds;
}
