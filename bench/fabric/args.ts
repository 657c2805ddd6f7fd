/** Command-line options of bench/fabric.ts. */
import { parseArgs } from 'node:util';
import { integer, list, positive } from '../common/args.js';
import { LAYOUT_NAMES, type LayoutName } from './layouts.js';

export interface FabricOptions {
  /** Ticks/s the feed offers, one step each; 0 measures the roles idle (timers, heartbeats). */
  readonly rates: readonly number[];
  readonly layouts: readonly LayoutName[];
  readonly warmupSeconds: number;
  readonly seconds: number;
  /** Run every role under `node --cpu-prof` and print its top self-time functions. */
  readonly profile: boolean;
  /** Functions listed per role profile. */
  readonly top: number;
}

export const USAGE = `Usage: npm run bench:fabric -- [options]

Each fabric role with no WebSocket client (the gateway keeps following every topic after its
one set-up client has left), fed by a bench feed: CPU per tick of each process.

  --rates a,b,...     ticks/s offered, one step each; 0 = idle (default 0,5000,10000)
  --layouts a,b,...   ${LAYOUT_NAMES.join(': each role its own process; ')}: proxy,snapshot,gateway as one process (default both)
  --warmup N          seconds each step runs before its window (default 2)
  --seconds N         measured window of each step (default 5)
  --profile           run the roles under node --cpu-prof and print each one's top self-time functions
                      over the windows (CPU numbers of a profiled run are a little higher)
  --top N             functions listed per profile (default 15)`;

export function parseOptions(argv: readonly string[]): FabricOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      rates: { type: 'string', default: '0,5000,10000' },
      layouts: { type: 'string', default: LAYOUT_NAMES.join(',') },
      warmup: { type: 'string', default: '2' },
      seconds: { type: 'string', default: '5' },
      profile: { type: 'boolean', default: false },
      top: { type: 'string', default: '15' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  return {
    rates: list(values.rates, 'rates').map((rate) => integer(rate, 'rates', 0, 1_000_000)),
    layouts: list(values.layouts, 'layouts').map(layoutName),
    warmupSeconds: positive(values.warmup, 'warmup'),
    seconds: positive(values.seconds, 'seconds'),
    profile: values.profile,
    top: integer(values.top, 'top', 1, 1_000),
  };
}

function layoutName(value: string): LayoutName {
  if (!(LAYOUT_NAMES as readonly string[]).includes(value)) throw new Error(`--layouts: unknown ${JSON.stringify(value)}, expected some of ${LAYOUT_NAMES.join(', ')}`);
  return value as LayoutName;
}
