/** The fabric benchmark's tables (plain text that is also Markdown, for docs/performance.md). */
import { count, markdownTable } from '../common/format.js';
import type { ProfileSummary } from './profile.js';
import { total, type ProcessUse, type StepResult } from './step.js';

/** Every process of every step: % of a core, and CPU µs per published tick, split by thread. */
export function processTable(steps: readonly StepResult[]): string {
  const rows = steps.flatMap((step) => {
    const fabric: ProcessUse = { label: 'fabric total', cpuMs: sumSplits(step.roles) };
    const shown = step.roles.length > 1 ? [...step.roles, fabric, step.feed] : [...step.roles, step.feed];
    return shown.map((use) => [step.layout, count(step.rate), use.label, ...usage(step, use)]);
  });
  return markdownTable(['layout', 'ticks/s', 'process', '% of a core (main/libzmq/other)', 'CPU µs per tick (main/libzmq/other)'], rows, ['layout', 'process']);
}

/** One line per step: the fabric's total per tick, the feed's, and whether the step is trustworthy. */
export function summaryTable(steps: readonly StepResult[]): string {
  const rows = steps.map((step) => {
    const seconds = (step.window.endMicros - step.window.startMicros) / 1e6;
    const fabricMs = step.roles.reduce((sum, use) => sum + total(use.cpuMs), 0);
    return [
      step.layout, count(step.rate), count(step.published / seconds), perTick(fabricMs, step.published), perTick(total(step.feed.cpuMs), step.published),
      count(step.feedDropped), share(step.snapshotTook), share(step.gatewayTook), String(step.gatewayClients), `${step.otherCpu.toFixed(0)}%`,
    ];
  });
  return markdownTable(
    ['layout', 'offered/s', 'published/s', 'fabric µs/tick', 'feed µs/tick', 'feed dropped', 'snapshot took', 'gateway took', 'gateway clients', 'other programs'],
    rows,
    ['layout'],
  );
}

export const LEGEND = `fabric = proxy + snapshot + gateway processes (split), or the one all-in-one process. CPU is
utime+stime from /proc/PID/task/*/stat over the window (10 ms resolution), split into the JS
main thread, libzmq's threads (ZMQbg/*) and the rest (V8 helpers such as GC, libuv's pool).
µs per tick = CPU time / ticks the feed published in the window. "took" = ticks the snapshot
store / the gateway counted around the window per tick published in it (~100%: every tick
reached them). "other programs" = the machine's busy time minus this benchmark's processes,
% of one core: on a shared machine, how far to trust the step.`;

/** One profile's top functions by self time over the windows it was summarized for. */
export function profileTable(title: string, summary: ProfileSummary, top: number): string {
  const busyMs = summary.sampledMs - summary.idleMs;
  const heading = `${title}: ${count(summary.sampledMs)} ms sampled on the main thread, ${pct(busyMs, summary.sampledMs)} busy`;
  const rows = summary.functions.slice(0, top).map((fn) => [fn.ms.toFixed(0), pct(fn.ms, busyMs), fn.what]);
  return `${heading}\n\n${markdownTable(['self ms', '% of busy', 'function'], rows, ['function'])}`;
}

function usage(step: StepResult, use: ProcessUse): [string, string] {
  const seconds = (step.window.endMicros - step.window.startMicros) / 1e6;
  const percent = (ms: number): string => ((ms / 10) / seconds).toFixed(0);
  const { main, zmq, other } = use.cpuMs;
  const cpuCell = `${percent(total(use.cpuMs))}% (${percent(main)}/${percent(zmq)}/${percent(other)})`;
  if (step.published === 0) return [cpuCell, '-'];
  const micros = (ms: number): string => ((ms * 1000) / step.published).toFixed(1);
  return [cpuCell, `${micros(total(use.cpuMs))} (${micros(main)}/${micros(zmq)}/${micros(other)})`];
}

function sumSplits(uses: readonly ProcessUse[]): ProcessUse['cpuMs'] {
  return uses.reduce((sum, { cpuMs }) => ({ main: sum.main + cpuMs.main, zmq: sum.zmq + cpuMs.zmq, other: sum.other + cpuMs.other }), { main: 0, zmq: 0, other: 0 });
}

function perTick(cpuMs: number, ticks: number): string {
  return ticks > 0 ? ((cpuMs * 1000) / ticks).toFixed(1) : '-';
}

function share(value: number): string {
  return Number.isNaN(value) ? '-' : `${(100 * value).toFixed(0)}%`;
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(0)}%` : '-';
}
