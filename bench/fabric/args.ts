/** Command-line options of bench/fabric.ts. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { integer, list, positive } from '../common/args.js';
import { FEED_KINDS, LAYOUT_NAMES, type FeedKind, type LayoutName } from './layouts.js';

export interface FabricOptions {
  /** Ticks/s the feed offers, one step each; 0 measures the roles idle (timers, heartbeats). */
  readonly rates: readonly number[];
  readonly layouts: readonly LayoutName[];
  readonly feed: FeedKind;
  readonly warmupSeconds: number;
  readonly seconds: number;
  /** Another checkout (its dist/ built) measured in the same run, step by step alternating with this one. */
  readonly baseline: string | undefined;
  /** Times each step is measured (per build), alternating the builds' order. */
  readonly rounds: number;
  /** Also measure a bare zeromq.js Subscriber on the proxy backend: the receive cost a subscribing role starts from. */
  readonly bareSubscriber: boolean;
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
  --feed KIND         publisher: the project's TickPublisher (validates, sequences, encodes each tick,
                      as a real feed does; default); raw: records encoded once up front, the cheapest load
  --baseline DIR      also measure the tickfan checkout in DIR (built: DIR/bin/tickfan.js and DIR/dist),
                      e.g. a worktree of main, alternating with this one step by step: before and after
                      a change in the same run, with each build's ratio to it
  --rounds N          measure every step N times per build (default 1, or 3 with --baseline); the
                      comparison takes each build's median
  --warmup N          seconds each step runs before its window (default 2)
  --seconds N         measured window of each step (default 5)
  --bare-subscriber   also measure a process that only receives every tick from the proxy backend
                      (zeromq.js, for await, nothing else): what a subscribing role pays before its own work
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
      feed: { type: 'string', default: 'publisher' },
      warmup: { type: 'string', default: '2' },
      seconds: { type: 'string', default: '5' },
      baseline: { type: 'string' },
      rounds: { type: 'string' },
      'bare-subscriber': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      top: { type: 'string', default: '15' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  return {
    rates: list(values.rates, 'rates').map((rate) => integer(rate, 'rates', 0, 1_000_000)),
    layouts: list(values.layouts, 'layouts').map(layoutName),
    feed: feedKind(values.feed),
    warmupSeconds: positive(values.warmup, 'warmup'),
    seconds: positive(values.seconds, 'seconds'),
    baseline: values.baseline === undefined ? undefined : checkout(values.baseline),
    rounds: values.rounds === undefined ? (values.baseline === undefined ? 1 : 3) : integer(values.rounds, 'rounds', 1, 100),
    bareSubscriber: values['bare-subscriber'],
    profile: values.profile,
    top: integer(values.top, 'top', 1, 1_000),
  };
}

function layoutName(value: string): LayoutName {
  if (!(LAYOUT_NAMES as readonly string[]).includes(value)) throw new Error(`--layouts: unknown ${JSON.stringify(value)}, expected some of ${LAYOUT_NAMES.join(', ')}`);
  return value as LayoutName;
}

function feedKind(value: string): FeedKind {
  if (!(FEED_KINDS as readonly string[]).includes(value)) throw new Error(`--feed: unknown ${JSON.stringify(value)}, expected one of ${FEED_KINDS.join(', ')}`);
  return value as FeedKind;
}

function checkout(dir: string): string {
  const root = resolve(dir);
  for (const needed of ['bin/tickfan.js', 'dist/cli/main.js']) {
    if (!existsSync(join(root, needed))) throw new Error(`--baseline: ${join(root, needed)} does not exist (is ${root} a tickfan checkout with npm run build done?)`);
  }
  return root;
}
