/** Turns ladder points into verdicts: which rates a configuration sustained, and what limited it. */
import { CONFIGS, counterpartOf, usesCurve, type Config, type PointResult } from './point.js';

/** Sustained means at least this share of the offered messages arrived in time... */
export const DELIVERED_SHARE = 0.999;
/** ...with no seq gap, and the publisher really offered (nearly) the rate the rung asked for. */
export const OFFERED_SHARE = 0.97;
/** The goal for a proxied configuration, relative to the direct baseline of the same run. */
export const RATIO_TARGET = 0.85;
/** Other programs using this much CPU (% of one core) during a window make its result suspect. */
export const BUSY_OTHER_PERCENT = 25;
/** A process at or above this CPU share of one core is treated as saturated. */
const SATURATED_PERCENT = 90;

export interface Verdict {
  readonly sustained: boolean;
  /** Why not, in a few words; empty when sustained. */
  readonly problem: string;
}

export function judge(point: PointResult): Verdict {
  const { publisher, subscriber } = point;
  if (point.error !== undefined || !publisher || !subscriber) return { sustained: false, problem: 'error' };
  const problems: string[] = [];
  if (publisher.offered < OFFERED_SHARE * point.rate * point.seconds) problems.push('publisher short');
  if (subscriber.delivered < DELIVERED_SHARE * publisher.offered) problems.push('late/lost');
  if (subscriber.missing > 0) problems.push('gaps');
  if (subscriber.outOfOrder > 0) problems.push('out of order');
  if (subscriber.invalid > 0) problems.push('invalid');
  return { sustained: problems.length === 0, problem: problems.join(', ') };
}

/** Of two tries of the same point, the one that did better: sustained first, then the larger delivered share. */
export function better(a: PointResult, b: PointResult): PointResult {
  const score = (p: PointResult): [number, number] => [
    judge(p).sustained ? 1 : 0,
    p.publisher && p.subscriber ? p.subscriber.delivered / Math.max(1, p.publisher.offered) : -1,
  ];
  const [sa, sb] = [score(a), score(b)];
  return sa[0] !== sb[0] ? (sa[0] > sb[0] ? a : b) : sa[1] >= sb[1] ? a : b;
}

export interface ConfigSummary {
  readonly config: Config;
  /**
   * The highest rung sustained. A pass is hard evidence (every message arrived, in time, in
   * order) while a failure may be someone else's load, so one passing rung outweighs a
   * failed rung below it.
   */
  readonly sustained: PointResult | undefined;
  /** The first failed rung above the sustained one: where the configuration's limit showed. */
  readonly limit: PointResult | undefined;
  /** Failed rungs below the sustained one: noise. */
  readonly noisyFailures: readonly PointResult[];
  /** The most messages per second the subscriber received at any rung: the configuration's throughput ceiling. */
  readonly peakDelivered: number;
}

export function summarize(points: readonly PointResult[]): ConfigSummary[] {
  return CONFIGS.flatMap((config) => {
    const ladder = points.filter((p) => p.config === config).sort((a, b) => a.rate - b.rate);
    if (ladder.length === 0) return [];
    const sustained = ladder.filter((p) => judge(p).sustained).at(-1);
    const failures = ladder.filter((p) => !judge(p).sustained);
    return [{
      config,
      sustained,
      limit: failures.find((p) => p.rate > (sustained?.rate ?? 0)),
      noisyFailures: failures.filter((p) => p.rate < (sustained?.rate ?? 0)),
      peakDelivered: Math.max(0, ...ladder.map((p) => (p.subscriber ? p.subscriber.delivered / p.seconds : 0))),
    }];
  });
}

/** A configuration's sustained rate over another's (its direct baseline, or its plain counterpart), on the same ladder. */
export function sustainedRatio(summary: ConfigSummary, base: ConfigSummary | undefined): number | undefined {
  if (!base?.sustained) return undefined;
  return (summary.sustained?.rate ?? 0) / base.sustained.rate;
}

export const PROCESSES = ['publisher', 'proxy', 'subscriber'] as const;
export type BenchProcess = (typeof PROCESSES)[number];

/**
 * CPU time per message of each process that reported, in µs: the publisher's per message it
 * offered, the proxy's and the subscriber's per message delivered.
 */
export function cpuPerMessage(point: PointResult): Partial<Record<BenchProcess, number>> {
  const { publisher, proxy, subscriber } = point;
  const micros = (cpuPercent: number, messages: number): number => (cpuPercent / 100) * point.seconds * 1e6 / messages;
  const perMessage: Partial<Record<BenchProcess, number>> = {};
  if (publisher && publisher.offered > 0) perMessage.publisher = micros(publisher.cpuPercent, publisher.offered);
  if (subscriber && subscriber.delivered > 0) {
    if (proxy) perMessage.proxy = micros(proxy.cpuPercent, subscriber.delivered);
    perMessage.subscriber = micros(subscriber.cpuPercent, subscriber.delivered);
  }
  return perMessage;
}

/** What CURVE costs one route: X+curve against X, both from the same run. */
export interface CurveCost {
  readonly plain: ConfigSummary;
  readonly curve: ConfigSummary;
  /** X+curve's sustained rate over X's; undefined when X sustained no rung. */
  readonly rateRatio: number | undefined;
  /**
   * The highest rung both sustained, where CPU per message is compared: at the same rate, with
   * every message delivered, the difference is the work CURVE adds (at a low rung a process's
   * idle cost is spread over few messages, so the top common rung is the fairest). Undefined
   * when they sustained no rung in common.
   */
  readonly compared: {
    readonly plain: PointResult;
    readonly curve: PointResult;
    /** CPU µs per message of each process, without and with CURVE. */
    readonly cpu: readonly { readonly process: BenchProcess; readonly plainMicros: number; readonly curveMicros: number }[];
  } | undefined;
}

/** One entry per route that ran both in the clear and with CURVE. */
export function curveCosts(points: readonly PointResult[]): CurveCost[] {
  const summaries = summarize(points);
  return summaries.filter((s) => usesCurve(s.config)).flatMap((curve) => {
    const plain = summaries.find((s) => s.config === counterpartOf(curve.config));
    if (plain === undefined) return [];
    const sustainedRungs = (config: Config) => points.filter((p) => p.config === config && judge(p).sustained);
    const curveRungs = sustainedRungs(curve.config);
    const both = sustainedRungs(plain.config)
      .flatMap((p) => curveRungs.filter((c) => c.rate === p.rate).map((c) => ({ plain: p, curve: c })))
      .sort((a, b) => a.plain.rate - b.plain.rate)
      .at(-1);
    return [{ plain, curve, rateRatio: sustainedRatio(curve, plain), compared: both && { ...both, cpu: cpuComparison(both.plain, both.curve) } }];
  });
}

function cpuComparison(plain: PointResult, curve: PointResult): NonNullable<CurveCost['compared']>['cpu'] {
  const [plainCpu, curveCpu] = [cpuPerMessage(plain), cpuPerMessage(curve)];
  return PROCESSES.flatMap((process) => {
    const [plainMicros, curveMicros] = [plainCpu[process], curveCpu[process]];
    return plainMicros === undefined || curveMicros === undefined ? [] : [{ process, plainMicros, curveMicros }];
  });
}

/** Names what most likely limited a failed point, from who was out of CPU. */
export function bottleneck(point: PointResult, cores: number): string {
  const { publisher, subscriber } = point;
  if (!publisher || !subscriber) return 'an error, with no report to judge by';
  const cpus = processCpus(point);
  // The machine's total includes whatever else was running: on a shared machine, others' load counts too.
  const total = point.machineCpuPercent ?? cpus.reduce((sum, c) => sum + c.percent, 0);
  const others = otherCpu(point) ?? 0;
  const machineFull = total >= (SATURATED_PERCENT / 100) * cores * 100;
  const machine = `the machine is out of CPU (${total.toFixed(0)}% of ${cores} cores in use` +
    `${others >= BUSY_OTHER_PERCENT ? `, ${others.toFixed(0)}% by other programs` : ''})`;
  const busiest = cpus.reduce((a, b) => (b.percent > a.percent ? b : a));
  const shown = `${busiest.name} at ${busiest.percent.toFixed(0)}% of a core`;
  if (publisher.offered < OFFERED_SHARE * point.rate * point.seconds) {
    return `the publisher, which could not offer the rate (at ${publisher.cpuPercent.toFixed(0)}% of a core)${machineFull ? `: ${machine}` : ''}`;
  }
  if (busiest.percent >= SATURATED_PERCENT) return `the ${shown}${machineFull ? `, and ${machine}` : ''}`;
  if (machineFull) return `${machine}; busiest: ${shown}`;
  return `no process saturated (busiest: ${shown}); queueing or scheduling noise`;
}

/** A failure that other programs may have caused: an error, or a busy machine during the window. */
export function inconclusive(point: PointResult): boolean {
  return !judge(point).sustained && (point.error !== undefined || (otherCpu(point) ?? 0) >= BUSY_OTHER_PERCENT);
}

/** Whether a failed try deserves another: every failure gets a second try, an inconclusive one up to maxTries. */
export function worthRetrying(point: PointResult, maxTries: number): boolean {
  if (judge(point).sustained || point.attempt >= maxTries) return false;
  return point.attempt === 1 || inconclusive(point);
}

/** CPU % of one core of each benchmark process that reported. */
export function processCpus(point: PointResult): { name: string; percent: number }[] {
  const { publisher, proxy, subscriber } = point;
  return [
    ...(publisher ? [{ name: 'publisher', percent: publisher.cpuPercent }] : []),
    ...(proxy ? [{ name: 'proxy', percent: proxy.cpuPercent }] : []),
    ...(subscriber ? [{ name: 'subscriber', percent: subscriber.cpuPercent }] : []),
  ];
}

/** Machine CPU not used by the benchmark's processes (% of one core), when known. */
export function otherCpu(point: PointResult): number | undefined {
  if (point.machineCpuPercent === undefined) return undefined;
  const ours = processCpus(point).reduce((sum, c) => sum + c.percent, 0);
  return Math.max(0, point.machineCpuPercent - ours);
}
