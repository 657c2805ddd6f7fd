/**
 * Child program: the snapshot role exactly as `tickfan start --roles snapshot` runs it
 * (loadConfig + startRoles), with the shipped defaults except loopback ephemeral ports and no
 * persistence. Its JSON log is read in-process: the bound endpoint comes from 'snapshot
 * service listening', the store's counts from 'snapshot stopped'. The parent starts a fresh
 * process for every store, so each measurement gets its own counts and a clean heap.
 */
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import { pino } from 'pino';
import { startRoles, stopRoles, type RunningRole } from '../../src/cli/roles.js';
import { loadConfig } from '../../src/cli/config.js';
import { serve } from '../common/child.js';

export interface StoreCounts {
  readonly applied: number;
  readonly duplicate: number;
  readonly gap: number;
  readonly new_epoch: number;
  readonly new_topic: number;
  readonly topic_limit: number;
}

export interface StoppedReport {
  readonly topics: number;
  readonly counts: StoreCounts;
  readonly requests: Record<string, number>;
  /** Warnings and errors the role logged while it ran, by message. */
  readonly warnings: Record<string, number>;
}

export interface MeterReport {
  /** Wall time and this process's CPU time (JS thread + libzmq I/O thread) over the interval, ms; additive over intervals. */
  readonly wallMs: number;
  readonly cpuMs: number;
  /** The longest the event loop was blocked (ready work waiting) over the interval, ms. */
  readonly loopDelayMaxMs: number;
  /** Garbage collection over the interval: the longest pause and the total, ms. */
  readonly gcMaxMs: number;
  readonly gcTotalMs: number;
  readonly rssMb: number;
}

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

const WARN = 40;

let running: RunningRole[] | undefined;
let listening: string | undefined;
let stopped: LogLine | undefined;
let warnings = new Map<string, number>();
let meter: { cpu: NodeJS.CpuUsage; wall: number; delay: IntervalHistogram; gc: { max: number; total: number } } | undefined;

// Every GC pause of this process is offered to the meter running at the time, if any.
new PerformanceObserver((list) => {
  if (meter === undefined) return;
  for (const entry of list.getEntries()) {
    meter.gc.max = Math.max(meter.gc.max, entry.duration);
    meter.gc.total += entry.duration;
  }
}).observe({ entryTypes: ['gc'] });

const log = pino({ level: 'info', base: { pid: process.pid } }, {
  write(text: string): void {
    const line = JSON.parse(text) as LogLine;
    if (line.msg === 'snapshot service listening') listening = String(line.endpoint);
    if (line.msg === 'snapshot stopped') stopped = line;
    if (line.level >= WARN) {
      warnings.set(line.msg, (warnings.get(line.msg) ?? 0) + 1);
      process.stderr.write(text);
    }
  },
});

const methods = {
  async start(params: { backend: string }): Promise<{ endpoint: string; historyPerTopic: number; receiveHwm: number }> {
    if (running !== undefined) throw new Error('the snapshot role is already running');
    // The environment names of loadConfig: TICKFAN_ + the upper-snake key.
    const config = loadConfig({
      env: {
        TICKFAN_CONNECT_BACKEND: params.backend,
        TICKFAN_SNAPSHOT_ENDPOINT: 'tcp://127.0.0.1:*',
        TICKFAN_SNAPSHOT_PERSIST_FILE: '',
      },
    });
    listening = undefined;
    stopped = undefined;
    warnings = new Map();
    running = await startRoles(config, ['snapshot'], log);
    if (listening === undefined) throw new Error("the snapshot role logged no 'snapshot service listening' line");
    return { endpoint: listening, historyPerTopic: config.snapshot.historyPerTopic, receiveHwm: config.subscriber.receiveHwm };
  },

  async stop(): Promise<StoppedReport> {
    if (running === undefined) throw new Error('the snapshot role is not running');
    await stopRoles(running);
    running = undefined;
    if (stopped === undefined) throw new Error("the snapshot role logged no 'snapshot stopped' line");
    return {
      topics: stopped.topics as number,
      counts: stopped.counts as StoreCounts,
      requests: stopped.requests as Record<string, number>,
      warnings: Object.fromEntries(warnings),
    };
  },

  async meterStart(): Promise<void> {
    meter?.delay.disable();
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    meter = { cpu: process.cpuUsage(), wall: performance.now(), delay, gc: { max: 0, total: 0 } };
  },

  async meterStop(): Promise<MeterReport> {
    if (meter === undefined) throw new Error('meterStart was not called');
    const { cpu, wall, delay, gc } = meter;
    meter = undefined;
    delay.disable();
    const used = process.cpuUsage(cpu);
    return {
      wallMs: performance.now() - wall,
      cpuMs: (used.user + used.system) / 1000,
      // An empty histogram (no sample yet) reports 0.
      loopDelayMaxMs: delay.max / 1e6,
      gcMaxMs: gc.max,
      gcTotalMs: gc.total,
      rssMb: process.memoryUsage().rss / 2 ** 20,
    };
  },
};

export type ServiceMethods = typeof methods;

serve(methods, async () => {
  if (running !== undefined) await stopRoles(running);
});
