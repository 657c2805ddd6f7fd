/**
 * CPU use of the whole machine and of the benchmark's own processes over a stretch of time.
 * On a shared machine the difference, other programs' CPU, says how much a number can be trusted.
 */
import { machineTimes } from '../common/machine.js';
import { processCpuMs } from '../common/proc.js';
import type { MeterReport } from './service.js';

/** Additive over stretches of time, so that interleaved blocks can be summed. */
export interface Usage {
  readonly wallMs: number;
  /** CPU time of the whole machine, all cores, ms. */
  readonly machineBusyMs: number;
  /** CPU time of the benchmark's processes (parent + children), ms; undefined without /proc. */
  readonly oursMs: number | undefined;
}

/** What one measured stretch cost: the snapshot process's own meter and the machine's usage. */
export interface Segment {
  readonly meter: MeterReport;
  readonly usage: Usage;
}

interface Mark {
  readonly wall: number;
  readonly machineBusyMs: number;
  readonly oursMs: number | undefined;
}

export class UsageMeter {
  private readonly start: Mark;

  constructor(private readonly pids: () => readonly (number | undefined)[]) {
    this.start = this.mark();
  }

  stop(): Usage {
    const end = this.mark();
    return {
      wallMs: end.wall - this.start.wall,
      machineBusyMs: end.machineBusyMs - this.start.machineBusyMs,
      oursMs: end.oursMs === undefined || this.start.oursMs === undefined ? undefined : end.oursMs - this.start.oursMs,
    };
  }

  private mark(): Mark {
    return { wall: performance.now(), machineBusyMs: machineTimes().busy, oursMs: oursMs(this.pids()) };
  }
}

function oursMs(pids: readonly (number | undefined)[]): number | undefined {
  const own = process.cpuUsage();
  let total = (own.user + own.system) / 1000;
  for (const pid of pids) {
    if (pid === undefined) return undefined;
    try {
      total += processCpuMs(pid);
    } catch {
      return undefined;
    }
  }
  return total;
}

export function mergeSegments(segments: readonly Segment[]): Segment | undefined {
  if (segments.length === 0) return undefined;
  const sum = (pick: (s: Segment) => number): number => segments.reduce((total, s) => total + pick(s), 0);
  const ours = segments.every((s) => s.usage.oursMs !== undefined) ? sum((s) => s.usage.oursMs!) : undefined;
  return {
    meter: {
      wallMs: sum((s) => s.meter.wallMs),
      cpuMs: sum((s) => s.meter.cpuMs),
      loopDelayMaxMs: Math.max(...segments.map((s) => s.meter.loopDelayMaxMs)),
      gcMaxMs: Math.max(...segments.map((s) => s.meter.gcMaxMs)),
      gcTotalMs: sum((s) => s.meter.gcTotalMs),
      rssMb: Math.max(...segments.map((s) => s.meter.rssMb)),
    },
    usage: { wallMs: sum((s) => s.usage.wallMs), machineBusyMs: sum((s) => s.usage.machineBusyMs), oursMs: ours },
  };
}

/** % of one core. */
export function percentOf(ms: number, wallMs: number): number {
  return wallMs > 0 ? (100 * ms) / wallMs : 0;
}

export function otherPercent(usage: Usage): number | undefined {
  return usage.oursMs === undefined ? undefined : Math.max(0, percentOf(usage.machineBusyMs - usage.oursMs, usage.wallMs));
}

/** Other programs using this much CPU (% of one core) make a measurement suspect. */
export const BUSY_OTHER_PERCENT = 25;
const QUIET_SAMPLE_MS = 500;

/**
 * Waits, at most maxWaitMs, until programs outside the benchmark use less than
 * BUSY_OTHER_PERCENT of a core over a short sample, so a measurement does not start in the
 * middle of someone else's burst. Unlike a machine-wide check it works while the benchmark's
 * own flow of ticks is running. Returns the last sample and how long it waited.
 */
export async function awaitQuietOthers(pids: () => readonly (number | undefined)[], maxWaitMs: number): Promise<{ percent: number | undefined; waitedMs: number }> {
  const started = performance.now();
  for (;;) {
    const meter = new UsageMeter(pids);
    await new Promise((resolve) => setTimeout(resolve, QUIET_SAMPLE_MS));
    const percent = otherPercent(meter.stop());
    const waitedMs = performance.now() - started;
    if (percent === undefined || percent < BUSY_OTHER_PERCENT || waitedMs >= maxWaitMs) return { percent, waitedMs };
  }
}
