/** Command-line options of bench/arbitration.ts. */
import { parseArgs } from 'node:util';
import { integer, list, positive } from '../common/args.js';
import type { CaseSettings } from './cases.js';
import type { RunSettings } from './run.js';

export interface ArbitrationBenchOptions extends RunSettings, CaseSettings {
  /** Machine CPU (% of one core) of other programs below which a case may start; 0 starts at once. */
  readonly quietBelow: number;
  readonly quietWaitSeconds: number;
  /** Every case is run this many times, in turn; the table shows each case's run with the least other load. */
  readonly rounds: number;
}

/** Every socket's high-water mark: far above what the rate ever queues, so ZeroMQ drops nothing the bench did not. */
const HWM = 100_000;

const DEFAULTS = {
  rate: '20000', topics: '500', skew: '1', seconds: '2.5', warmup: '0.5', 'grace-ms': '200',
  loss: '1', 'lag-ms': '1', 'common-loss': '0.1', windows: '0,2,10,50', seed: '13', 'quiet-below': '25', 'quiet-wait': '10', rounds: '1',
};

export const USAGE = `Usage: npm run bench:arbitration -- [options]

  --rate N            offered messages/s over all topics (default ${DEFAULTS.rate})
  --topics N          topics tick.SIM.S0.. (default ${DEFAULTS.topics})
  --skew S            Zipf exponent of the traffic over the topics: topic i gets 1/(i+1)^S of it (default ${DEFAULTS.skew}; 0 = even)
  --seconds N         measurement window per case (default ${DEFAULTS.seconds})
  --warmup N          warm-up seconds before each window (default ${DEFAULTS.warmup})
  --grace-ms N        how late after the window a message still counts as delivered (default ${DEFAULTS['grace-ms']}; above the longest window + lag)
  --loss P            % of messages line A alone loses in the one-line-loss case (default ${DEFAULTS.loss})
  --lag-ms N          how far line B lags in that case (default ${DEFAULTS['lag-ms']})
  --common-loss P     % of messages both lines lose in the real-loss cases (default ${DEFAULTS['common-loss']})
  --windows 0,2,...   subscriber.arbitrationMs values the real loss is run with (default ${DEFAULTS.windows})
  --seed N            seeds the topic picks and losses (default ${DEFAULTS.seed})
  --quiet-below N     before each case, wait until other programs use under N% of one core (default ${DEFAULTS['quiet-below']}, 0 = don't wait)
  --quiet-wait N      ...but at most N seconds, then run anyway (default ${DEFAULTS['quiet-wait']})
  --rounds N          run every case N times, in turn, and show each case's run with the least CPU used by other programs (default ${DEFAULTS.rounds})`;

export function parseOptions(argv: readonly string[]): ArbitrationBenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      rate: { type: 'string', default: DEFAULTS.rate },
      topics: { type: 'string', default: DEFAULTS.topics },
      skew: { type: 'string', default: DEFAULTS.skew },
      seconds: { type: 'string', default: DEFAULTS.seconds },
      warmup: { type: 'string', default: DEFAULTS.warmup },
      'grace-ms': { type: 'string', default: DEFAULTS['grace-ms'] },
      loss: { type: 'string', default: DEFAULTS.loss },
      'lag-ms': { type: 'string', default: DEFAULTS['lag-ms'] },
      'common-loss': { type: 'string', default: DEFAULTS['common-loss'] },
      windows: { type: 'string', default: DEFAULTS.windows },
      seed: { type: 'string', default: DEFAULTS.seed },
      'quiet-below': { type: 'string', default: DEFAULTS['quiet-below'] },
      'quiet-wait': { type: 'string', default: DEFAULTS['quiet-wait'] },
      rounds: { type: 'string', default: DEFAULTS.rounds },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const value = (name: keyof typeof DEFAULTS): string => values[name];
  const options: ArbitrationBenchOptions = {
    rate: integer(value('rate'), 'rate'),
    topics: integer(value('topics'), 'topics'),
    skew: nonNegative(value('skew'), 'skew'),
    seconds: positive(value('seconds'), 'seconds'),
    warmupSeconds: warmup(value('warmup')),
    graceMs: integer(value('grace-ms'), 'grace-ms'),
    oneLineLoss: share(value('loss'), 'loss'),
    lagMs: integer(value('lag-ms'), 'lag-ms', 0, 1_000),
    commonLoss: share(value('common-loss'), 'common-loss'),
    windowsMs: list(value('windows'), 'windows').map((w) => integer(w, 'windows', 0, 10_000)),
    seed: integer(value('seed'), 'seed', 0, 2 ** 31 - 1),
    hwm: HWM,
    quietBelow: integer(value('quiet-below'), 'quiet-below', 0),
    quietWaitSeconds: integer(value('quiet-wait'), 'quiet-wait', 0),
    rounds: integer(value('rounds'), 'rounds', 1, 100),
  };
  const longestWait = Math.max(...options.windowsMs, options.lagMs);
  if (options.graceMs <= longestWait) throw new Error(`--grace-ms (${options.graceMs}) must be above the longest window or lag (${longestWait} ms), or held messages count as lost`);
  return options;
}

/** Below half a second the window could open before the source has its 'run' call. */
function warmup(value: string): number {
  const n = positive(value, 'warmup');
  if (n < 0.5) throw new Error(`--warmup must be at least 0.5, got ${n}`);
  return n;
}

function nonNegative(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number of 0 or more, got ${JSON.stringify(value)}`);
  return n;
}

/** A percentage on the command line, a share (0..1) inside. */
function share(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new Error(`--${name} must be a percentage from 0 to 100, got ${JSON.stringify(value)}`);
  return n / 100;
}
