/**
 * Fabric per-tick cost (issue 15): the proxy, snapshot and gateway roles with no WebSocket
 * client, each in its own process and all in one, fed by a bench feed at a few rates; the
 * CPU each process spends per tick, read from outside through /proc. With --baseline another
 * checkout is measured in the same run, alternating step by step. With --profile each role
 * runs under `node --cpu-prof` and its top self-time functions over the busiest steps are
 * printed. See docs/performance.md, "Per-tick budget".
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { optionsOrUsage } from './common/cli.js';
import { announceMachine, waitForQuiet } from './common/machine.js';
import { childDied } from './common/spawn.js';
import { BIN } from './common/tickfan-process.js';
import { parseOptions, USAGE, type FabricOptions } from './fabric/args.js';
import { Layout, type Build, type LayoutName } from './fabric/layouts.js';
import { profileFileOf, summarize } from './fabric/profile.js';
import { comparisonTable, LEGEND, processTable, profileTable, summaryTable } from './fabric/report.js';
import { measureStep, perTick, type StepResult } from './fabric/step.js';

/** Other programs' CPU (% of one core) below which the run starts, and how long it waits for that. */
const QUIET_BELOW = 25;
const QUIET_WAIT_MS = 15_000;
/** Before each step (every fabric idle), how long it waits at most for other programs to calm down. */
const QUIET_STEP_WAIT_MS = 10_000;

async function main(): Promise<void> {
  const options = optionsOrUsage(parseOptions, USAGE);
  if (options === undefined) return;
  const started = performance.now();
  await announceMachine(QUIET_BELOW, QUIET_WAIT_MS);
  const builds: Build[] = [{ label: 'this', bin: BIN }];
  if (options.baseline !== undefined) builds.push({ label: 'baseline', bin: join(options.baseline, 'bin/tickfan.js') });
  const profileRoot = options.profile ? mkdtempSync(join(tmpdir(), 'tickfan-fabric-profiles-')) : undefined;
  console.log(settingsLine(options, builds, profileRoot));

  const steps: StepResult[] = [];
  const profiles: string[] = [];
  for (const name of options.layouts) {
    const done = await Promise.race([runLayout(name, builds, options, profileRoot), childDied]);
    steps.push(...done.steps);
    profiles.push(...done.profiles);
  }
  console.log(processTable(steps));
  console.log(`\n${summaryTable(steps)}`);
  if (builds.length > 1 || options.rounds > 1) console.log(`\n${comparisonTable(steps)}`);
  console.log(`\n${LEGEND}`);
  for (const profile of profiles) console.log(`\n${profile}`);
  console.log(`\nTotal run time ${((performance.now() - started) / 1000).toFixed(0)} s.`);
}

/** Every build's fabric of this layout runs at once; one at a time is fed, the others idle. */
async function runLayout(name: LayoutName, builds: readonly Build[], options: FabricOptions, profileRoot: string | undefined): Promise<{ steps: StepResult[]; profiles: string[] }> {
  console.error(`${name}: starting ${builds.map((build) => build.label).join(' and ')}`);
  const layouts: Layout[] = [];
  const steps: StepResult[] = [];
  try {
    for (const build of builds) layouts.push(await Layout.start(name, build, options.feed, options.bareSubscriber, profileRoot === undefined ? undefined : join(profileRoot, build.label, name)));
    for (let round = 0; round < options.rounds; round++) {
      for (const rate of options.rates) {
        // Alternating the order cancels a drift of the machine's other load between the builds.
        for (const layout of round % 2 === 0 ? layouts : [...layouts].reverse()) {
          await waitForQuiet(QUIET_BELOW, QUIET_STEP_WAIT_MS);
          const step = await measureStep(layout, rate, options);
          steps.push(step);
          console.error(`  ${layout.build.label} ${rate} ticks/s: ${step.published} published`);
        }
      }
    }
  } finally {
    // Profiles are written as the processes exit.
    await Promise.all(layouts.map((layout) => layout.close()));
  }
  return { steps, profiles: profileRoot === undefined ? [] : layouts.flatMap((layout) => profileTables(layout, steps, options.top)) };
}

/** Each role's profile over its layout's steps at the highest rate. */
function profileTables(layout: Layout, steps: readonly StepResult[], top: number): string[] {
  const own = steps.filter((step) => step.build === layout.build.label && step.layout === layout.name);
  const rate = Math.max(...own.map((step) => step.rate));
  const busiest = own.filter((step) => step.rate === rate);
  const windows = busiest.map((step) => step.window);
  return layout.processes.map(({ label, proc, profileDir }) => {
    const title = `Profile: ${layout.build.label}, ${layout.name}, ${label}, ${rate.toLocaleString('en-US')} ticks/s`;
    const file = profileFileOf(profileDir!, proc.child.pid!);
    if (file === undefined) return `${title}: no profile was written (did the process exit by itself?)`;
    // The main thread's CPU per tick as /proc counted it, to turn the profile's shares into µs.
    const uses = busiest.map((step) => step.roles.find((use) => use.label === label)!);
    const mainMicros = uses.reduce((sum, use) => sum + (perTick(use)?.main ?? 0), 0) / uses.length;
    return profileTable(title, summarize(file, windows), top, mainMicros);
  });
}

function settingsLine(options: FabricOptions, builds: readonly Build[], profileRoot: string | undefined): string {
  const feed = options.feed === 'raw' ? 'raw bench feed (records encoded once up front)' : 'bench feed (TickPublisher)';
  const parts = [
    `${feed} over 1,000 topics, ~160-byte ticks`,
    `each step ${options.warmupSeconds} s warm-up, then a ${options.seconds} s window, ${options.rounds} round(s)`,
    ...(builds.length > 1 ? [`builds: ${builds.map((build) => `${build.label} = ${build.bin}`).join(', ')}`] : []),
    ...(profileRoot === undefined ? [] : [`profiled (node --cpu-prof), profiles in ${profileRoot}`]),
  ];
  return `${parts.join('; ')}\n`;
}

await main();
