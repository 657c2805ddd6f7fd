/**
 * Fabric per-tick cost (issue 15): the proxy, snapshot and gateway roles with no WebSocket
 * client, each in its own process and all in one, fed by the bench feed at a few rates; the
 * CPU each process spends per tick, read from outside through /proc. With --profile each role
 * runs under `node --cpu-prof` and its top self-time functions over the busiest step are
 * printed. See docs/performance.md, "Per-tick budget".
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { optionsOrUsage } from './common/cli.js';
import { announceMachine } from './common/machine.js';
import { childDied } from './common/spawn.js';
import { parseOptions, USAGE, type FabricOptions } from './fabric/args.js';
import { Layout, type LayoutName } from './fabric/layouts.js';
import { profileFileOf, summarize } from './fabric/profile.js';
import { LEGEND, processTable, profileTable, summaryTable } from './fabric/report.js';
import { measureStep, type StepResult } from './fabric/step.js';

/** Other programs' CPU (% of one core) below which the run starts, and how long it waits for that. */
const QUIET_BELOW = 25;
const QUIET_WAIT_MS = 15_000;

async function main(): Promise<void> {
  const options = optionsOrUsage(parseOptions, USAGE);
  if (options === undefined) return;
  const started = performance.now();
  await announceMachine(QUIET_BELOW, QUIET_WAIT_MS);
  const profileRoot = options.profile ? mkdtempSync(join(tmpdir(), 'tickfan-fabric-profiles-')) : undefined;
  console.log(`bench feed (TickPublisher) over 1,000 topics, ~160-byte ticks; each step ${options.warmupSeconds} s warm-up, then a ${options.seconds} s window${profileRoot === undefined ? '' : `; profiled (node --cpu-prof), profiles in ${profileRoot}`}\n`);

  const steps: StepResult[] = [];
  const profiles: string[] = [];
  for (const name of options.layouts) {
    const layoutSteps = await Promise.race([runLayout(name, options, profileRoot), childDied]);
    steps.push(...layoutSteps.steps);
    profiles.push(...layoutSteps.profiles);
  }
  console.log(processTable(steps));
  console.log(`\n${summaryTable(steps)}`);
  console.log(`\n${LEGEND}`);
  for (const profile of profiles) console.log(`\n${profile}`);
  console.log(`\nTotal run time ${((performance.now() - started) / 1000).toFixed(0)} s.`);
}

async function runLayout(name: LayoutName, options: FabricOptions, profileRoot: string | undefined): Promise<{ steps: StepResult[]; profiles: string[] }> {
  console.error(`${name}: starting`);
  const layout = await Layout.start(name, profileRoot === undefined ? undefined : join(profileRoot, name));
  const steps: StepResult[] = [];
  try {
    for (const rate of options.rates) {
      const step = await measureStep(layout, rate, options);
      steps.push(step);
      console.error(`  ${rate} ticks/s: ${step.published} published, fabric ${step.roles.map((r) => r.label).join('+')}`);
    }
  } finally {
    // Profiles are written as the processes exit.
    await layout.close();
  }
  return { steps, profiles: profileRoot === undefined ? [] : profileTables(layout, steps, options.top) };
}

/** Each role's profile over the busiest step's window. */
function profileTables(layout: Layout, steps: readonly StepResult[], top: number): string[] {
  const busiest = steps.reduce((best, step) => (step.published > best.published ? step : best));
  return layout.processes.map(({ label, proc, profileDir }) => {
    const title = `Profile: ${layout.name}, ${label}, ${busiest.rate.toLocaleString('en-US')} ticks/s`;
    const file = profileFileOf(profileDir!, proc.child.pid!);
    if (file === undefined) return `${title}: no profile was written (did the process exit by itself?)`;
    return profileTable(title, summarize(file, [busiest.window]), top);
  });
}

await main();
