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
import { runCase, startProcesses, stopProcesses, type CaseResult, type Processes } from './arbitration/run.js';
import { optionsOrUsage } from './common/cli.js';
import { count, cpu } from './common/format.js';
import { announceMachine, waitForQuiet } from './common/machine.js';
import { childDied } from './common/spawn.js';

async function main(): Promise<void> {
  const options = optionsOrUsage(parseOptions, USAGE);
  if (options === undefined) return;
  await announceMachine(options.quietBelow, options.quietBelow > 0 ? options.quietWaitSeconds * 1000 : 0);
  const procs = await startProcesses();
  try {
    const results = await Promise.race([runAll(options, procs), childDied]);
    console.log(`${settingsLine(options, results[0]?.busiestShare ?? 0)}\n`);
    console.log(resultsTable(results));
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

/** Each case's quietest run: rounds run every case in turn, so a burst of someone else's load hits one run of a case, not all. */
async function runAll(options: ArbitrationBenchOptions, procs: Processes): Promise<CaseResult[]> {
  const cases = casesOf(options);
  const quietest: CaseResult[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    for (const [i, which] of cases.entries()) {
      if (options.quietBelow > 0) await waitForQuiet(options.quietBelow, options.quietWaitSeconds * 1000);
      const result = await runCase(procs, which, options);
      console.error(`  round ${round}, ${which.name}: ${count(result.receiver.delivered)}/${count(result.source.sent)} delivered, other programs used ${cpu(result.otherCpuPercent)} of a core`);
      if (quietest[i] === undefined || result.otherCpuPercent < quietest[i]!.otherCpuPercent) quietest[i] = result;
    }
  }
  return quietest;
}

function settingsLine(options: ArbitrationBenchOptions, busiestShare: number): string {
  return `${count(options.rate)} msgs/s over ${options.topics} topics (Zipf ${options.skew}: the busiest gets ${(busiestShare * 100).toFixed(1)}%), ` +
    `${options.seconds} s window per case after ${options.warmupSeconds} s warm-up, grace ${options.graceMs} ms, seed ${options.seed}` +
    (options.rounds > 1 ? `; each case's quietest of ${options.rounds} rounds` : '');
}

await main();
