/**
 * One step: the feed offers a rate, the fabric settles, then a window in which every process's
 * CPU is read from outside (/proc, per thread), with the feed's published count and the
 * roles' own counters (did each role take every tick?) read around it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { machineTimes, type Times } from '../common/machine.js';
import type { FabricOptions } from './args.js';
import type { Layout } from './layouts.js';
import type { MetricTotals } from './metrics.js';
import { monotonicMicros, type MonotonicWindow } from './profile.js';
import { splitByThread, threadTimes, type ThreadSplit, type ThreadTimes } from './threads.js';

const CALL_MS = 15_000;

export interface ProcessUse {
  /** A role, `all-in-one`, or `feed`. */
  readonly label: string;
  /** CPU ms over the window, by thread. */
  readonly cpuMs: ThreadSplit;
  /**
   * Ticks it handled meanwhile, by its own counter (the snapshot store's, the gateway's; both
   * averaged for the all-in-one) read just around the window, so that a role that fell behind
   * or caught up is still charged for what it did; the proxy and the feed: ticks published.
   */
  readonly ticks: number;
}

export interface StepResult {
  readonly build: string;
  readonly layout: string;
  readonly rate: number;
  readonly window: MonotonicWindow;
  /** Ticks the feed published in the window. */
  readonly published: number;
  /** Dropped by the feed's bounded queue in the window: the proxy did not keep up. */
  readonly feedDropped: number;
  readonly roles: readonly ProcessUse[];
  readonly feed: ProcessUse;
  /** The bare subscriber, when measured: ticks it received, and its CPU. */
  readonly reference: ProcessUse | undefined;
  /** Ticks the snapshot store and the gateway took in between two scrapes around the window, per tick published meanwhile (NaN when idle). */
  readonly snapshotTook: number;
  readonly gatewayTook: number;
  /** Gateway clients connected at the end (0: the upstream is measured alone). */
  readonly gatewayClients: number;
  /** What programs other than this benchmark used meanwhile, % of one core: how far to trust the row. */
  readonly otherCpu: number;
}

export async function measureStep(layout: Layout, rate: number, options: FabricOptions): Promise<StepResult> {
  await layout.feed.call('rate', { perSecond: rate, traffic: 'ticks' }, CALL_MS);
  await sleep(options.warmupSeconds * 1000);
  const reference = layout.reference;
  const pids = [...layout.processes.map(({ proc }) => proc.child.pid!), layout.feed.pid!, ...(reference === undefined ? [] : [reference.pid!])];
  const referenceCount = async (): Promise<number> => (reference === undefined ? 0 : (await reference.call('counts', undefined, CALL_MS)).received);

  // The roles' counters are read just outside the window (a scrape costs CPU), and the feed's
  // count once more just outside those reads, to tell what share of the ticks each role took.
  const feedAround = await layout.feed.call('counts', undefined, CALL_MS);
  const totalsBefore = await layout.totals();
  const feedBefore = await layout.feed.call('counts', undefined, CALL_MS);
  const referenceBefore = await referenceCount();
  const start = reading(pids);
  await sleep(options.seconds * 1000);
  const end = reading(pids);
  const referenceAfter = await referenceCount();
  const feedAfter = await layout.feed.call('counts', undefined, CALL_MS);
  const totalsAfter = await layout.totals();
  const feedAroundAfter = await layout.feed.call('counts', undefined, CALL_MS);
  // Idle until its next step, so that another build's fabric measured meanwhile has the machine.
  await layout.feed.call('rate', { perSecond: 0, traffic: 'ticks' }, CALL_MS);

  const published = feedAfter.published - feedBefore.published;
  const ingested = delta(totalsBefore, totalsAfter, 'tickfan_snapshot_messages_ingested_total');
  const received = delta(totalsBefore, totalsAfter, 'tickfan_gateway_ticks_received_total');
  const handled: Readonly<Record<string, number>> = { snapshot: ingested, gateway: received, 'all-in-one': (ingested + received) / 2, 'bare SUB': referenceAfter - referenceBefore };
  const labels = [...layout.processes.map(({ label }) => label), 'feed', 'bare SUB'];
  const uses = pids.map((pid, i) => {
    const label = labels[i]!;
    return { label, cpuMs: splitByThread(start.threads[i]!, end.threads[i]!, pid), ticks: published > 0 ? handled[label] ?? published : 0 };
  });
  const roleCount = layout.processes.length;
  const ours = uses.reduce((sum, use) => sum + total(use.cpuMs), 0) + (end.selfCpuMs - start.selfCpuMs);
  const windowMs = (end.atMicros - start.atMicros) / 1000;
  const publishedAround = feedAroundAfter.published - feedAround.published;
  // Ticks still in flight when the last scrape ran make a share a little below 1.
  const took = (count: number): number => (published > 0 ? count / publishedAround : Number.NaN);
  return {
    build: layout.build.label,
    layout: layout.name,
    rate,
    window: { startMicros: start.atMicros, endMicros: end.atMicros },
    published,
    feedDropped: feedAfter.dropped - feedBefore.dropped,
    roles: uses.slice(0, roleCount),
    feed: uses[roleCount]!,
    reference: uses[roleCount + 1],
    snapshotTook: took(ingested),
    gatewayTook: took(received),
    gatewayClients: totalsAfter.get('tickfan_gateway_connections') ?? Number.NaN,
    otherCpu: Math.max(0, (100 * (busyMs(start.machine, end.machine) - ours)) / windowMs),
  };
}

export function total(split: ThreadSplit): number {
  return split.main + split.zmq + split.other;
}

/** CPU µs per tick handled, by thread; undefined for an idle step. */
export function perTick(use: ProcessUse): ThreadSplit | undefined {
  if (use.ticks <= 0) return undefined;
  const { main, zmq, other } = use.cpuMs;
  return { main: (main * 1000) / use.ticks, zmq: (zmq * 1000) / use.ticks, other: (other * 1000) / use.ticks };
}

/** The fabric's cost per tick: its processes' costs per tick, added up; undefined for an idle step. */
export function fabricPerTick(step: StepResult): ThreadSplit | undefined {
  const parts = step.roles.map(perTick);
  if (parts.some((part) => part === undefined)) return undefined;
  return sumSplits(parts as ThreadSplit[]);
}

export function sumSplits(splits: readonly ThreadSplit[]): ThreadSplit {
  return splits.reduce((sum, split) => ({ main: sum.main + split.main, zmq: sum.zmq + split.zmq, other: sum.other + split.other }), { main: 0, zmq: 0, other: 0 });
}

interface Reading {
  readonly atMicros: number;
  readonly threads: readonly ThreadTimes[];
  readonly machine: Times;
  readonly selfCpuMs: number;
}

function reading(pids: readonly number[]): Reading {
  const self = process.cpuUsage();
  return { atMicros: monotonicMicros(), threads: pids.map(threadTimes), machine: machineTimes(), selfCpuMs: (self.user + self.system) / 1000 };
}

/** os.cpus() times are ms summed over the cores. */
function busyMs(from: Times, to: Times): number {
  return to.busy - from.busy;
}

function delta(before: MetricTotals, after: MetricTotals, name: string): number {
  return (after.get(name) ?? 0) - (before.get(name) ?? 0);
}
