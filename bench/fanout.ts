/**
 * Fan-out benchmark, the project's headline number: the whole pipeline as separate processes
 * (bench feed -> proxy -> snapshot role and gateway role, `tickfan start --roles <role>`) and
 * N WebSocket clients driven from separate load processes, over ramps of offered tick rates;
 * the same clients, interest and ramps in the same run against the peers users compare with:
 * the all-in-one layout (one process), nats-server's WebSocket listener, and a minimal ws
 * baseline server. See docs/performance.md for the method and how to read the output.
 */
import { optionsOrUsage } from './common/cli.js';
import { announceMachine } from './common/machine.js';
import { childDied } from './common/spawn.js';
import { parseOptions, USAGE, type FanoutOptions } from './fanout/args.js';
import { Fabric } from './fanout/fabric.js';
import { BOOKS } from './fanout/books.js';
import { INSTRUMENTS } from './fanout/instruments.js';
import { SERVER_LABELS, type Case } from './fanout/cases.js';
import { judge, legend, peersTable, progressLine, resultsTable, summaryText } from './fanout/report.js';
import { CaseRun, type StepResult } from './fanout/step.js';

/** Other programs' CPU (% of one core) below which the run starts, and how long it waits for that. */
const QUIET_BELOW = 25;
const QUIET_WAIT_MS = 15_000;

async function main(): Promise<void> {
  const options = optionsOrUsage(parseOptions, USAGE);
  if (options === undefined) return;
  const started = performance.now();
  await announceMachine(QUIET_BELOW, options.quick ? 3_000 : QUIET_WAIT_MS);
  console.log(`${settingsLine(options)}\n`);

  const steps: StepResult[] = [];
  const errors: string[] = [];
  const fabric = await Promise.race([Fabric.start(), childDied]);
  try {
    for (const spec of options.cases) {
      try {
        await Promise.race([runCase(spec, fabric, options, steps), childDied]);
      } catch (err) {
        errors.push(`${spec.name}: ${(err as Error).message}`);
        console.error(`${spec.name}: error: ${(err as Error).message}`);
      }
    }
  } finally {
    await fabric.close();
  }
  console.log(resultsTable(steps));
  console.log(`\n${legend()}`);
  console.log(`\nPeers: each layout's sustained events/s and its ratio to NATS in this run\n\n${peersTable(steps)}`);
  console.log(`\n${summaryText(steps)}`);
  for (const error of errors) console.log(`Error in ${error}`);
  console.log(`\nTotal run time ${((performance.now() - started) / 1000).toFixed(0)} s.`);
  if (errors.length > 0) process.exitCode = 1;
}

async function runCase(spec: Case, fabric: Fabric, options: FanoutOptions, steps: StepResult[]): Promise<void> {
  console.error(`${spec.name}: connecting ${spec.clients} clients to the ${SERVER_LABELS[spec.server]} server`);
  const run = await CaseRun.start(spec, fabric, options);
  try {
    for (const rate of spec.rates) {
      const step = await run.step(rate, options);
      steps.push(step);
      console.error(`  ${progressLine(step)}`);
      // Past its limit a ramp only fails again, slowly; the failed step already shows where the limit is.
      if (!judge(step).sustained) break;
    }
  } finally {
    await run.stop();
  }
}

function settingsLine(options: FanoutOptions): string {
  const perProcess = options.clientsPerProcess === undefined ? '250 clients per load process for 1,000 clients, 50 for 100' : `${options.clientsPerProcess} clients per load process`;
  const books = options.cases.some((spec) => spec.traffic === 'books') ? `; books: ${BOOKS} book topics, 50-level snapshots, updates of 1-4 levels` : '';
  return `${INSTRUMENTS} topics, ~150-byte ticks${books}; each step ${options.warmupSeconds} s warm-up, then a ${options.seconds} s window; ${perProcess}${options.quick ? '; --quick' : ''}`;
}

await main();
