/**
 * Pipeline benchmark: publisher -> [proxy] -> subscriber, each in its own OS process on
 * loopback, for the direct baseline and both proxy modes, each in the clear and with
 * CurveZMQ, over a ladder of offered rates. See docs/performance.md for how to read the output.
 */
import { better, inconclusive, judge, worthRetrying } from './pipeline/analysis.js';
import { parseOptions, USAGE, type BenchOptions } from './pipeline/args.js';
import { BenchKeys } from './pipeline/keys.js';
import { runPoint, usesCurve, type Config, type PointResult } from './pipeline/point.js';
import { curveCostText, legend, progressLine, resultsTable, summaryText } from './pipeline/report.js';
import { optionsOrUsage } from './common/cli.js';
import { machineLine, waitForQuiet } from './common/machine.js';

async function main(): Promise<void> {
  const options = optionsOrUsage(parseOptions, USAGE);
  if (options === undefined) return;
  const keys = options.configs.some(usesCurve) ? BenchKeys.create() : undefined;
  // Also on Ctrl-C: spawn.ts exits the process on SIGINT, which runs 'exit' handlers.
  if (keys !== undefined) process.on('exit', () => keys.remove());
  console.log(machineLine());
  console.log(`${settingsLine(options)}\n`);
  const points: PointResult[] = [];
  const failuresInRow = new Map<Config, number>();
  // Rate-major order, so slow drift in the machine's load hits every configuration alike.
  for (const rate of options.rates) {
    for (const config of options.configs) {
      const failures = failuresInRow.get(config) ?? 0;
      // Past its limit a configuration only fails again, slowly; its last failures already show its ceiling.
      if (options.stopAfter > 0 && failures >= options.stopAfter) continue;
      const point = await measure(config, rate, options, keys);
      points.push(point);
      // Only a failure on a quiet machine says the limit is reached.
      if (judge(point).sustained) failuresInRow.set(config, 0);
      else if (!inconclusive(point)) failuresInRow.set(config, failures + 1);
    }
  }
  console.log(resultsTable(points));
  console.log(legend());
  const stopped = [...failuresInRow].filter(([, failures]) => options.stopAfter > 0 && failures >= options.stopAfter);
  if (stopped.length > 0) {
    const names = stopped.map(([config]) => config).join(', ');
    console.log(`Higher rates skipped for ${names} after ${options.stopAfter} failed rates in a row on a quiet machine (--stop-after 0 runs them all).`);
  }
  console.log(`\n${summaryText(points)}`);
  const curveCost = curveCostText(points);
  if (curveCost !== '') console.log(`\n${curveCost}`);
}

/** Runs a point, again when it failed: on a shared machine a burst of someone else's load can sink a try. */
async function measure(config: Config, rate: number, options: BenchOptions, keys: BenchKeys | undefined): Promise<PointResult> {
  let best: PointResult | undefined;
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    await awaitQuietMachine(options);
    const result = await runPoint(config, rate, options, attempt, keys);
    console.error(progressLine(result));
    best = best ? better(best, result) : result;
    if (!worthRetrying(result, options.attempts)) break;
  }
  return best!;
}

function settingsLine(options: BenchOptions): string {
  const quiet = options.quietBelow > 0
    ? `each started once other programs use < ${options.quietBelow}% of a core (waiting at most ${options.quietWaitSeconds} s)`
    : 'started without waiting for a quiet machine';
  return `Window ${options.seconds} s per point after ${options.warmupSeconds} s warm-up, ${options.topics} topics, ` +
    `HWM ${options.hwm} on every socket, grace ${options.graceMs} ms, a failed point tried twice (up to ${options.attempts} times on a busy machine), ${quiet}`;
}

async function awaitQuietMachine(options: BenchOptions): Promise<void> {
  if (options.quietBelow <= 0) return;
  const { percent, waitedMs } = await waitForQuiet(options.quietBelow, options.quietWaitSeconds * 1000);
  const busy = `other programs use ${percent.toFixed(0)}% of a core`;
  if (percent >= options.quietBelow) console.error(`  machine still busy after ${Math.round(waitedMs / 1000)} s (${busy}); running anyway`);
  else if (waitedMs > 1_500) console.error(`  waited ${Math.round(waitedMs / 1000)} s for the machine to calm down (${busy})`);
}

await main();
