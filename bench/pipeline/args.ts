/** Command-line options of bench/pipeline.ts. */
import { parseArgs } from 'node:util';
import { integer, list, positive } from '../common/args.js';
import { CONFIGS, type Config, type PointSettings } from './point.js';

export interface BenchOptions extends PointSettings {
  readonly rates: readonly number[];
  readonly configs: readonly Config[];
  readonly attempts: number;
  readonly stopAfter: number;
  /** Machine CPU (% of one core) below which a point may start; 0 starts at once. */
  readonly quietBelow: number;
  readonly quietWaitSeconds: number;
}

/** Dense where the configurations are expected to reach their limits on a small machine. */
const DEFAULT_RATES = [25_000, 50_000, 75_000, 100_000, 125_000, 150_000, 175_000, 200_000, 250_000, 300_000];

export const USAGE = `Usage: npm run bench:pipeline -- [options]

  --rates 25000,50000,...   offered rates in messages/s (default ${DEFAULT_RATES.join(',')})
  --seconds N               measurement window per point (default 10)
  --warmup N                warm-up seconds before each window (default 2)
  --configs direct,native,...  which configurations to run (default all: ${CONFIGS.join(',')});
                            X+curve is X with CurveZMQ on every hop, its certificates made for the run
  --hwm N                   high-water mark of every socket (default 100000)
  --grace-ms N              how late after the window a message still counts as delivered (default 100)
  --topics N                number of topics tick.SIM.S0.. (default 50)
  --attempts N              most tries of a failing point: one retry always, more while other programs are busy (default 3)
  --stop-after N            skip a configuration's higher rates after N rates in a row failed on a quiet machine (default 2, 0 = never)
  --quiet-below N           before each try, wait until other programs use under N% of one core (default 25, 0 = don't wait)
  --quiet-wait N            ...but at most N seconds, then run anyway (default 20)`;

export function parseOptions(argv: readonly string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      rates: { type: 'string', default: DEFAULT_RATES.join(',') },
      seconds: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      configs: { type: 'string', default: CONFIGS.join(',') },
      hwm: { type: 'string', default: '100000' },
      'grace-ms': { type: 'string', default: '100' },
      topics: { type: 'string', default: '50' },
      attempts: { type: 'string', default: '3' },
      'stop-after': { type: 'string', default: '2' },
      'quiet-below': { type: 'string', default: '25' },
      'quiet-wait': { type: 'string', default: '20' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  return {
    rates: list(values.rates, 'rates').map((r) => positive(r, 'rates')).sort((a, b) => a - b),
    seconds: positive(values.seconds, 'seconds'),
    // Below half a second the window could open before the publisher has its 'run' command.
    warmupSeconds: atLeast(positive(values.warmup, 'warmup'), 0.5, 'warmup'),
    configs: list(values.configs, 'configs').map(config),
    hwm: integer(values.hwm, 'hwm'),
    graceMs: integer(values['grace-ms'], 'grace-ms', 0),
    topics: integer(values.topics, 'topics'),
    attempts: integer(values.attempts, 'attempts'),
    stopAfter: integer(values['stop-after'], 'stop-after', 0),
    quietBelow: integer(values['quiet-below'], 'quiet-below', 0),
    quietWaitSeconds: integer(values['quiet-wait'], 'quiet-wait', 0),
  };
}

function atLeast(n: number, min: number, name: string): number {
  if (n < min) throw new Error(`--${name} must be at least ${min}, got ${n}`);
  return n;
}

function config(value: string): Config {
  if (!(CONFIGS as readonly string[]).includes(value)) throw new Error(`--configs: unknown ${JSON.stringify(value)}, expected ${CONFIGS.join(', ')}`);
  return value as Config;
}
