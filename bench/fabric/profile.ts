/**
 * Reading a `node --cpu-prof` profile (.cpuprofile, V8's JSON): self time per function over
 * the measurement windows only, so start-up and shutdown do not count. The profile's clock is
 * the monotonic one that process.hrtime() reads, in every process alike, so windows taken by
 * the parent select the child's samples.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Monotonic microseconds, the clock of a .cpuprofile's startTime and timeDeltas. */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export interface MonotonicWindow {
  readonly startMicros: number;
  readonly endMicros: number;
}

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface CpuProfile {
  readonly nodes: readonly { readonly id: number; readonly callFrame: CallFrame }[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  /** functionName (or "(anonymous)") and where it is defined; or, by file, the file alone. */
  readonly what: string;
  readonly ms: number;
}

export interface ProfileSummary {
  /** Sampled time inside the windows, ms, idle included. */
  readonly sampledMs: number;
  /** Of it, the main thread waiting for events (V8's "(idle)"). */
  readonly idleMs: number;
  /** Functions by self time, busiest first (idle excluded). */
  readonly functions: readonly SelfTime[];
  /** The same summed per file (V8's own entries such as "(garbage collector)" each stand alone), busiest first. */
  readonly files: readonly SelfTime[];
}

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const IDLE = '(idle)';

/** The main thread's profile node wrote for process `pid` into `dir` (CPU.<date>.<time>.<pid>.<tid>.<n>.cpuprofile). */
export function profileFileOf(dir: string, pid: number): string | undefined {
  const name = readdirSync(dir).find((file) => file.endsWith('.cpuprofile') && file.split('.')[3] === String(pid) && file.split('.')[4] === '0');
  return name === undefined ? undefined : join(dir, name);
}

/**
 * Self time per function (name, file and line) over the samples inside `windows`. A sample
 * stands for the time until the next one, as Chrome DevTools counts it.
 */
export function summarize(file: string, windows: readonly MonotonicWindow[]): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const selfMicros = new Map<string, number>();
  const fileMicros = new Map<string, number>();
  let at = profile.startTime;
  let sampled = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i]!;
    const lasted = profile.timeDeltas[i + 1] ?? 0;
    if (!windows.some((window) => at >= window.startMicros && at < window.endMicros)) continue;
    const frame = frames.get(profile.samples[i]!)!;
    sampled += lasted;
    if (frame.functionName === IDLE) {
      idle += lasted;
      continue;
    }
    const what = describe(frame);
    selfMicros.set(what, (selfMicros.get(what) ?? 0) + lasted);
    // V8's own entries, "(garbage collector)" and "(program)", stand alone; native functions go together.
    const file = frame.url !== '' ? where(frame) : frame.functionName.startsWith('(') ? frame.functionName : 'native functions (no script)';
    fileMicros.set(file, (fileMicros.get(file) ?? 0) + lasted);
  }
  return { sampledMs: sampled / 1000, idleMs: idle / 1000, functions: busiestFirst(selfMicros), files: busiestFirst(fileMicros) };
}

function busiestFirst(micros: Map<string, number>): SelfTime[] {
  return [...micros].map(([what, us]) => ({ what, ms: us / 1000 })).sort((a, b) => b.ms - a.ms);
}

function describe(frame: CallFrame): string {
  return frame.url === '' ? functionName(frame) : `${functionName(frame)} ${where(frame)}:${frame.lineNumber + 1}`;
}

function functionName(frame: CallFrame): string {
  return frame.functionName === '' ? '(anonymous)' : frame.functionName;
}

function where(frame: CallFrame): string {
  return frame.url.startsWith('file://') ? relative(REPO, fileURLToPath(frame.url)) : frame.url;
}
