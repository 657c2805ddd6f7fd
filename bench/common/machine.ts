/**
 * The machine's CPU use as a whole. The benchmark shares its machine with whatever else runs
 * there; measuring the total tells its own load apart from everyone else's.
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { sleepUntil, type Window } from './clock.js';

/** How long one quietness sample lasts. */
const SAMPLE_MS = 1_000;

/** CPU time the whole machine spends during the window, as % of one core (up to 100 x cores). */
export async function machineCpuPercent(window: Window): Promise<number> {
  await sleepUntil(window.startMicros);
  const atStart = machineTimes();
  await sleepUntil(window.endMicros);
  const atEnd = machineTimes();
  return busyPercent(atStart, atEnd);
}

/**
 * Waits, at most maxWaitMs, until the machine's CPU use stays below thresholdPercent of one
 * core for a second, so a point does not start in the middle of someone else's burst.
 * Called between points, when none of the benchmark's children runs. Returns the last sample.
 */
export async function waitForQuiet(thresholdPercent: number, maxWaitMs: number): Promise<{ percent: number; waitedMs: number }> {
  const started = Date.now();
  for (;;) {
    const before = machineTimes();
    await sleep(SAMPLE_MS);
    const percent = busyPercent(before, machineTimes());
    const waitedMs = Date.now() - started;
    if (percent < thresholdPercent || waitedMs >= maxWaitMs) return { percent, waitedMs };
  }
}

/** CPU time of all cores since boot, ms. */
export interface Times {
  readonly busy: number;
  readonly idle: number;
}

function busyPercent(from: Times, to: Times): number {
  const busy = to.busy - from.busy;
  const all = busy + to.idle - from.idle;
  return all > 0 ? (100 * os.cpus().length * busy) / all : 0;
}

export function machineTimes(): Times {
  let busy = 0;
  let idle = 0;
  for (const { times } of os.cpus()) {
    busy += times.user + times.nice + times.sys + times.irq;
    idle += times.idle;
  }
  return { busy, idle };
}

/** The machine a run's numbers come from, and how loaded it already was. */
export function machineLine(): string {
  const cpus = os.cpus();
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  return `Machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, Node ${process.version}, ${os.type()} ${os.release()}, load average ${load}`;
}

/**
 * The opening of a benchmark run: waits (bounded) for the machine to be quiet, then prints the
 * machine line and how busy other programs were. Returns their CPU, % of one core.
 */
export async function announceMachine(quietBelow: number, maxWaitMs: number): Promise<number> {
  const quiet = await waitForQuiet(quietBelow, maxWaitMs);
  console.log(machineLine());
  console.log(`Other programs used ${quiet.percent.toFixed(0)}% of a core just before the start.`);
  return quiet.percent;
}
