/**
 * A/B arbitration benchmark: what the arbitration window (subscriber.arbitrationMs) costs in
 * delivery latency. A source process publishes the same messages on two lines (an XPUB each, on
 * loopback), with a loss and a lag per line; a receiver process reads them through LineSet, as a
 * client of a redundant fabric does. One line without an arbiter is the baseline. See
 * docs/performance.md for how to read the output.
 */
import { casesOf } from './arbitration/cases.js';
import { parseOptions, USAGE, type ArbitrationBenchOptions } from './arbitration/args.js';
import { LEGEND, problems, resultsTable } from './arbitration/report.js';
import { runCase, startProcesses, stopProcesses, type CaseResult } from './arbitration/run.js';
import { optionsOrUsage } from './common/cli.js';
import { count } from './common/format.js';
import { announceMachine } from './common/machine.js';
import { childDied } from './common/spawn.js';

/** Machine CPU (% of one core) of other programs below which the run starts, and how long it waits for that. */
const QUIET_BELOW = 25;
const QUIET_WAIT_MS = 5_000;

async function main(): Promise<void> {
  const options = optionsOrUsage(parseOptions, USAGE);
  if (options === undefined) return;
  await announceMachine(QUIET_BELOW, QUIET_WAIT_MS);
  const procs = await startProcesses();
  try {
    const results = await Promise.race([runAll(options, procs), childDied]);
    console.log(`${settingsLine(options, results[0]?.busiestShare ?? 0)}\n`);
    console.log(resultsTable(results, results.find((r) => r.case.lines.length === 1)));
    console.log(`\n${LEGEND}`);
    const found = problems(results);
    if (found.length > 0) {
      console.log(`\nProblems:\n${found.map((p) => `- ${p}`).join('\n')}`);
      process.exitCode = 1;
    }
  } finally {
    await stopProcesses(procs);
  }
}

async function runAll(options: ArbitrationBenchOptions, procs: Awaited<ReturnType<typeof startProcesses>>): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const which of casesOf(options)) {
    const result = await runCase(procs, which, options);
    console.error(`  ${which.name}: ${count(result.receiver.delivered)}/${count(result.source.sent)} delivered`);
    results.push(result);
  }
  return results;
}

function settingsLine(options: ArbitrationBenchOptions, busiestShare: number): string {
  return `${count(options.rate)} msgs/s over ${options.topics} topics (Zipf ${options.skew}: the busiest gets ${(busiestShare * 100).toFixed(1)}%), ` +
    `${options.seconds} s window per case after ${options.warmupSeconds} s warm-up, grace ${options.graceMs} ms, seed ${options.seed}`;
}

await main();
