/** The fabric benchmark's tables (plain text that is also Markdown, for docs/performance.md). */
import { count, markdownTable } from '../common/format.js';
import type { ProfileSummary, SelfTime } from './profile.js';
import { fabricPerTick, perTick, sumSplits, total, type StepResult } from './step.js';
import type { ThreadSplit } from './threads.js';

/** The share of the ticks each role must have taken for the step's per-tick figures to hold. */
const KEPT_UP = 0.95;
/** Files listed per profile, after its functions. */
const FILES_SHOWN = 8;

/** Every process of every step: % of a core, and CPU µs per tick handled, split by thread. */
export function processTable(steps: readonly StepResult[]): string {
  const rows = steps.flatMap((step) => {
    const seconds = windowSeconds(step);
    const line = (label: string, cpuMs: ThreadSplit, micros: ThreadSplit | undefined): string[] => [
      ...buildCell(steps, step), step.layout, count(step.rate), label,
      splitCell(cpuMs, (ms) => (ms / 10 / seconds).toFixed(0), '%'),
      micros === undefined ? '-' : splitCell(micros, (us) => us.toFixed(1), ''),
    ];
    const roles = step.roles.map((use) => line(use.label, use.cpuMs, perTick(use)));
    const fabric = step.roles.length > 1 ? [line('fabric total', sumSplits(step.roles.map((use) => use.cpuMs)), fabricPerTick(step))] : [];
    const reference = step.reference === undefined ? [] : [line('bare SUB (reference)', step.reference.cpuMs, perTick(step.reference))];
    return [...roles, ...fabric, line('feed', step.feed.cpuMs, perTick(step.feed)), ...reference];
  });
  return markdownTable([...buildHeader(steps), 'layout', 'ticks/s', 'process', '% of a core (main/libzmq/other)', 'CPU µs per tick (main/libzmq/other)'], rows, ['build', 'layout', 'process']);
}

/** One line per step: the fabric's total per tick, the feed's, and whether the step is trustworthy. */
export function summaryTable(steps: readonly StepResult[]): string {
  const rows = steps.map((step) => [
    ...buildCell(steps, step), step.layout, count(step.rate), count(step.published / windowSeconds(step)), micros(fabricTotal(step)), micros(feedTotal(step)),
    count(step.feedDropped), share(step.snapshotTook), share(step.gatewayTook), String(step.gatewayClients), `${step.otherCpu.toFixed(0)}%`, keptUp(step) ? 'yes' : 'NO',
  ]);
  return markdownTable(
    [...buildHeader(steps), 'layout', 'offered/s', 'published/s', 'fabric µs/tick', 'feed µs/tick', 'feed dropped', 'snapshot took', 'gateway took', 'gateway clients', 'other programs', 'kept up'],
    rows,
    ['build', 'layout'],
  );
}

/**
 * Each build's median over the rounds of every layout and rate (idle steps left out), with its
 * ratio to the baseline's median: the before-and-after of a change, measured in one run.
 */
export function comparisonTable(steps: readonly StepResult[]): string {
  const groups = new Map<string, StepResult[]>();
  for (const step of steps.filter((s) => s.published > 0)) {
    const key = groupKey(step.layout, step.rate, step.build);
    groups.set(key, [...(groups.get(key) ?? []), step]);
  }
  const fabricMedian = (group: readonly StepResult[]): number => median(group.map((step) => fabricTotal(step)!));
  const rows = [...groups.values()].map((group) => {
    const { layout, rate, build } = group[0]!;
    const perTicks = group.map((step) => fabricTotal(step)!);
    const baseline = groups.get(groupKey(layout, rate, 'baseline'));
    const vsBaseline = baseline === undefined || build === 'baseline' ? '-' : `${(fabricMedian(group) / fabricMedian(baseline)).toFixed(2)}x`;
    return [
      build, layout, count(rate), `${fabricMedian(group).toFixed(1)} (${Math.min(...perTicks).toFixed(1)}-${Math.max(...perTicks).toFixed(1)})`,
      median(group.map((step) => feedTotal(step)!)).toFixed(1), vsBaseline, `${group.filter(keptUp).length}/${group.length}`,
    ];
  });
  return markdownTable(['build', 'layout', 'ticks/s', 'fabric µs/tick, median (min-max)', 'feed µs/tick, median', 'vs baseline', 'rounds kept up'], rows, ['build', 'layout']);
}

export const LEGEND = `fabric = proxy + snapshot + gateway processes (split), or the one all-in-one process. CPU is
utime+stime from /proc/PID/task/*/stat over the window (10 ms resolution), split into the JS
main thread, libzmq's threads (ZMQbg/*) and the rest (V8 helpers such as GC, libuv's pool).
µs per tick = a process's CPU time / the ticks it handled in the window: the snapshot store's
and the gateway's own counters (their mean for the all-in-one), the ticks published for the
proxy and the feed; the fabric's = the sum of its processes'. "took" = ticks the snapshot
store / the gateway counted around the window per tick published meanwhile (~100%: none
behind). "other programs" = the machine's busy time minus this benchmark's processes, % of
one core: on a shared machine, how far to trust the step. "kept up" = no tick dropped and
both roles took at least ${100 * KEPT_UP}% of the ticks: otherwise a role fell behind (starved of
CPU, or too slow), and its figures are those of a role working through a backlog. "bare SUB"
(--bare-subscriber) is a process that only receives every tick through zeromq.js: the floor
a subscribing role's figure starts from; it is no part of the fabric.`;

/**
 * One profile's top functions by self time over the windows it was summarized for, then its
 * busiest files. A profile's times are wall time (a thread waiting for a core on a busy machine
 * still has a function on its stack), so each share of the busy time is also given as µs per
 * tick of the main thread's CPU time that /proc counted, `mainMicrosPerTick`.
 */
export function profileTable(title: string, summary: ProfileSummary, top: number, mainMicrosPerTick: number): string {
  const busyMs = summary.sampledMs - summary.idleMs;
  const heading = `${title}: ${count(summary.sampledMs)} ms sampled on the main thread, ${pct(busyMs, summary.sampledMs)} of it busy; main thread ${mainMicrosPerTick.toFixed(1)} µs CPU per tick`;
  const rows = (items: readonly SelfTime[], n: number): string[][] => items.slice(0, n).map((item) => [
    item.ms.toFixed(0), pct(item.ms, busyMs), busyMs > 0 ? ((item.ms / busyMs) * mainMicrosPerTick).toFixed(2) : '-', item.what,
  ]);
  const functions = markdownTable(['self ms (wall)', '% of busy', '≈ µs/tick', 'function'], rows(summary.functions, top), ['function']);
  const files = markdownTable(['self ms (wall)', '% of busy', '≈ µs/tick', 'file'], rows(summary.files, FILES_SHOWN), ['file']);
  return `${heading}\n\n${functions}\n\nBy file:\n\n${files}`;
}

export function keptUp(step: StepResult): boolean {
  return step.published === 0 || (step.feedDropped === 0 && step.snapshotTook >= KEPT_UP && step.gatewayTook >= KEPT_UP);
}

function fabricTotal(step: StepResult): number | undefined {
  const split = fabricPerTick(step);
  return split === undefined ? undefined : total(split);
}

function feedTotal(step: StepResult): number | undefined {
  const split = perTick(step.feed);
  return split === undefined ? undefined : total(split);
}

function windowSeconds(step: StepResult): number {
  return (step.window.endMicros - step.window.startMicros) / 1e6;
}

function splitCell(split: ThreadSplit, format: (value: number) => string, unit: string): string {
  return `${format(total(split))}${unit} (${format(split.main)}/${format(split.zmq)}/${format(split.other)})`;
}

function groupKey(layout: string, rate: number, build: string): string {
  return `${layout}\0${rate}\0${build}`;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The build column appears only when the run measured more than one build. */
function buildHeader(steps: readonly StepResult[]): string[] {
  return new Set(steps.map((step) => step.build)).size > 1 ? ['build'] : [];
}

function buildCell(steps: readonly StepResult[], step: StepResult): string[] {
  return buildHeader(steps).length > 0 ? [step.build] : [];
}

function micros(value: number | undefined): string {
  return value === undefined ? '-' : value.toFixed(1);
}

function share(value: number): string {
  return Number.isNaN(value) ? '-' : `${(100 * value).toFixed(0)}%`;
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(0)}%` : '-';
}

