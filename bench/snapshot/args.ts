/** Command-line options of bench/snapshot.ts. */
import { parseArgs } from 'node:util';
import { integer, list } from '../common/args.js';

export interface SnapshotBenchOptions {
  /** Topic counts of the request measurements (SNAPSHOT, REPLAY, PING). */
  readonly topics: readonly number[];
  /** The rate of ticks flowing while requests are measured "under flow". */
  readonly flowRate: number;
  /** Requests per SNAPSHOT series, and per REPLAY series. */
  readonly snapshots: number;
  readonly replays: number;
  /** Upper bound of any one series, whatever its count. */
  readonly seriesMaxSeconds: number;
  /** How long the second client PINGs alone, for the baseline. */
  readonly baselineSeconds: number;
  /** Baseline and SNAPSHOT series are cut into this many blocks, alternated, so drift in the machine's load hits both alike. */
  readonly blocks: number;
  readonly pingIntervalMs: number;
  /** The ingest ladder: offered rates, topic count, seconds per rung. */
  readonly rates: readonly number[];
  readonly ladderTopics: number;
  readonly windowSeconds: number;
  readonly quick: boolean;
}

const FULL = {
  topics: '1000,10000', 'flow-rate': '20000', snapshots: '100', replays: '200', 'series-max': '10', baseline: '2',
  'ping-interval': '2', blocks: '4', rates: '20000,40000,60000,80000,100000', 'ladder-topics': '10000', window: '5',
};
/** About 30 s: fewer requests, shorter windows, two rungs. */
const QUICK: typeof FULL = { ...FULL, snapshots: '30', replays: '50', 'series-max': '4', baseline: '1', blocks: '2', rates: '20000,60000', window: '2' };

export const USAGE = `Usage: node --import=tsx bench/snapshot.ts [options]

  --quick                 about 30 s instead of about 2-3 minutes (fewer requests, shorter windows, 2 rungs)
  --topics 1000,10000     topic counts of the SNAPSHOT/REPLAY/PING measurements (default ${FULL.topics})
  --flow-rate N           ticks/s flowing during the "under flow" measurements (default ${FULL['flow-rate']})
  --snapshots N           SNAPSHOT requests per series (default ${FULL.snapshots}, quick ${QUICK.snapshots})
  --replays N             REPLAY requests per series (default ${FULL.replays}, quick ${QUICK.replays})
  --series-max N          seconds any one series may take, whatever its count (default ${FULL['series-max']}, quick ${QUICK['series-max']})
  --baseline N            seconds of PING alone for the baseline (default ${FULL.baseline}, quick ${QUICK.baseline})
  --ping-interval N       ms between the second client's PINGs (default ${FULL['ping-interval']})
  --blocks N              alternate PING-alone and SNAPSHOT blocks N times (default ${FULL.blocks}, quick ${QUICK.blocks})
  --rates 20000,...       offered rates of the ingest ladder (default ${FULL.rates}, quick ${QUICK.rates})
  --ladder-topics N       topics of the ingest ladder (default ${FULL['ladder-topics']})
  --window N              seconds per ladder rung (default ${FULL.window}, quick ${QUICK.window})`;

export function parseOptions(argv: readonly string[]): SnapshotBenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      ...Object.fromEntries(Object.keys(FULL).map((name) => [name, { type: 'string' as const }])),
    },
  });
  if (values.help) return 'help';
  const quick = values.quick === true;
  const value = (name: keyof typeof FULL): string => {
    const given = (values as Record<string, unknown>)[name];
    return typeof given === 'string' ? given : (quick ? QUICK : FULL)[name];
  };
  return {
    topics: list(value('topics'), 'topics').map((t) => integer(t, 'topics', 2, 99_999)),
    flowRate: integer(value('flow-rate'), 'flow-rate'),
    snapshots: integer(value('snapshots'), 'snapshots'),
    replays: integer(value('replays'), 'replays'),
    seriesMaxSeconds: integer(value('series-max'), 'series-max'),
    baselineSeconds: integer(value('baseline'), 'baseline'),
    pingIntervalMs: integer(value('ping-interval'), 'ping-interval'),
    blocks: integer(value('blocks'), 'blocks', 1, 100),
    rates: list(value('rates'), 'rates').map((r) => integer(r, 'rates')).sort((a, b) => a - b),
    ladderTopics: integer(value('ladder-topics'), 'ladder-topics', 2, 99_999),
    windowSeconds: integer(value('window'), 'window'),
    quick,
  };
}
