/** Renders the results as plain-text tables (also valid Markdown, for docs/performance.md). */
import os from 'node:os';
import { count, cpu, markdownTable, micros, ratio } from '../common/format.js';
import {
  BUSY_OTHER_PERCENT, DELIVERED_SHARE, OFFERED_SHARE, PROCESSES, RATIO_TARGET, bottleneck, curveCosts, judge, otherCpu, summarize, sustainedRatio,
  type BenchProcess, type ConfigSummary, type CurveCost,
} from './analysis.js';
import { baselineOf, CONFIGS, routeOf, type PointResult } from './point.js';

const COLUMNS = [
  'config', 'asked/s', 'offered/s', 'delivered/s', 'delivered %', 'gaps (missing)', 'p50', 'p99',
  'CPU pub', 'CPU proxy', 'CPU sub', 'CPU other', 'verdict',
] as const;

export function resultsTable(points: readonly PointResult[]): string {
  const ordered = [...points].sort((a, b) => CONFIGS.indexOf(a.config) - CONFIGS.indexOf(b.config) || a.rate - b.rate);
  return markdownTable(COLUMNS, ordered.map(row), ['config', 'verdict']);
}

/** One line per try, on stderr while the ladder runs. */
export function progressLine(point: PointResult): string {
  const { publisher: pub, subscriber: sub } = point;
  const what = `${point.config} at ${count(point.rate)}/s, try ${point.attempt}`;
  if (!pub || !sub) return `${what}: error: ${point.error ?? 'no report'}`;
  const verdict = judge(point);
  const delivered = pub.offered > 0 ? ((100 * sub.delivered) / pub.offered).toFixed(2) : '0';
  const details = `delivered ${delivered}%, ${sub.missing} missing, other CPU ${cpu(otherCpu(point))}`;
  return `${what}: ${verdict.sustained ? 'sustained' : verdict.problem} (${details})`;
}

export function legend(): string {
  return [
    'asked/s is the rung; offered/s what the publisher stamped inside the window; delivered/s what the subscriber',
    'received of those before the window end + grace. gaps = seqs missing within a topic. Latency = subscriber',
    'arrival - header ts. CPU = % of one core over the window (above 100% when libzmq\'s I/O threads are busy too);',
    'CPU other = the rest of the machine: programs outside the benchmark.',
  ].join('\n');
}

export function summaryText(points: readonly PointResult[]): string {
  const cores = os.cpus().length;
  const summaries = summarize(points);
  const baseline = (summary: ConfigSummary) => summaries.find((s) => s.config === baselineOf(summary.config));
  const lines = [
    `Sustained = the highest rung with delivered >= ${pct(DELIVERED_SHARE)} of offered, zero seq gaps, ` +
      `and the publisher offering >= ${pct(OFFERED_SHARE)} of the asked rate.`,
  ];
  for (const summary of summaries) {
    lines.push(`- ${summary.config}: ${ratesLine(summary, baseline(summary))}`, `    ${limitLine(summary, cores)}`);
  }
  for (const direct of summaries.filter((s) => s.config === baselineOf(s.config) && !s.limit)) {
    if (summaries.some((s) => s !== direct && baseline(s) === direct)) {
      lines.push(`Note: ${direct.config} never failed, so each ratio to it above is an upper bound; extend --rates to find the real one.`);
    }
  }
  for (const p of points) if (p.error !== undefined) lines.push(`Error at ${p.config} ${count(p.rate)}/s: ${p.error}`);
  return lines.join('\n');
}

function ratesLine(summary: ConfigSummary, base: ConfigSummary | undefined): string {
  const { sustained, peakDelivered } = summary;
  const compare = base !== undefined && summary !== base;
  let line = `sustained ${sustained ? `${count(sustained.rate)}/s` : 'no rung'}`;
  if (compare) {
    const share = sustainedRatio(summary, base);
    line += share === undefined
      ? ` (no ratio: ${base.config} sustained no rung)`
      : ` = ${pct(share)} of ${base.config} (target >= ${pct(RATIO_TARGET)}: ${share >= RATIO_TARGET ? 'met' : 'NOT met'})`;
  }
  line += `; peak delivered ${count(peakDelivered)}/s`;
  if (compare && base.peakDelivered > 0) line += ` = ${pct(peakDelivered / base.peakDelivered)} of ${base.config}'s peak`;
  return line;
}

const CURVE_COLUMNS = ['route', 'sustained', '+curve', 'rate +curve/plain', 'CPU compared at', 'p50', 'CPU pub µs/msg', 'CPU proxy µs/msg', 'CPU sub µs/msg'] as const;

/**
 * What CurveZMQ costs each route that ran both ways: X+curve against X from the same run. Empty
 * when none did. CPU per message is plain -> curve (ratio) at the highest rung both sustained.
 */
export function curveCostText(points: readonly PointResult[]): string {
  const costs = curveCosts(points);
  if (costs.length === 0) return '';
  return [
    'What CURVE costs (X+curve against X, same run; CPU per message = CPU time over the window / messages, at the highest rung both sustained):',
    markdownTable(CURVE_COLUMNS, costs.map(curveRow), ['route']),
    '<=, >=, ?: only a bound, as the plain ladder (<=), the curve one (>=) or neither (?) ever failed; extend --rates for the real ratio.',
  ].join('\n');
}

function curveRow(cost: CurveCost): string[] {
  const { plain, curve, rateRatio, compared } = cost;
  const rate = (summary: ConfigSummary) => (summary.sustained ? `${count(summary.sustained.rate)}/s` : 'no rung');
  // A ladder that never failed has its limit above the top rung, so only a bound is known.
  const bound = !plain.limit && curve.limit ? '<= ' : plain.limit && !curve.limit ? '>= ' : !plain.limit && !curve.limit ? '? ' : '';
  const perMessage = (process: BenchProcess) => {
    const entry = compared?.cpu.find((c) => c.process === process);
    return entry ? `${entry.plainMicros.toFixed(1)} -> ${entry.curveMicros.toFixed(1)} (${ratio(entry.curveMicros / entry.plainMicros, 2)})` : '-';
  };
  return [
    routeOf(plain.config),
    rate(plain),
    rate(curve),
    rateRatio === undefined ? '-' : `${bound}${pct(rateRatio)}`,
    compared ? `${count(compared.plain.rate)}/s` : 'no common rung',
    compared ? `${micros(compared.plain.subscriber?.p50Micros)} -> ${micros(compared.curve.subscriber?.p50Micros)}` : '-',
    ...PROCESSES.map(perMessage),
  ];
}

function limitLine(summary: ConfigSummary, cores: number): string {
  const { limit, noisyFailures } = summary;
  let line = !limit
    ? 'never failed above it: its limit lies above the top rung'
    : limit.error !== undefined
      ? `failed at ${count(limit.rate)}/s with an error (below)`
      : `failed at ${count(limit.rate)}/s (${judge(limit).problem}), limited by ${bottleneck(limit, cores)}`;
  if (noisyFailures.length > 0) line += `; failures below it (noise): ${noisyFailures.map((p) => `${count(p.rate)}/s`).join(', ')}`;
  return line;
}

function row(point: PointResult): string[] {
  const { publisher: pub, subscriber: sub, proxy } = point;
  const verdict = judge(point);
  if (!pub || !sub) return [point.config, count(point.rate), ...Array<string>(COLUMNS.length - 3).fill(''), 'error'];
  const gaps = sub.missing + (sub.outOfOrder > 0 ? `, ${sub.outOfOrder} out of order` : '') + (sub.invalid > 0 ? `, ${sub.invalid} invalid` : '');
  return [
    point.config,
    count(point.rate),
    count(pub.offered / point.seconds),
    count(sub.delivered / point.seconds),
    pub.offered > 0 ? `${((100 * sub.delivered) / pub.offered).toFixed(2)}%` : '',
    gaps,
    micros(sub.p50Micros),
    micros(sub.p99Micros),
    cpu(pub.cpuPercent),
    proxy ? cpu(proxy.cpuPercent) : '-',
    cpu(sub.cpuPercent),
    cpu(otherCpu(point)),
    [
      verdict.sustained ? 'ok' : verdict.problem,
      ...(point.attempt > 1 ? [`try ${point.attempt}`] : []),
      ...((otherCpu(point) ?? 0) >= BUSY_OTHER_PERCENT ? ['busy machine'] : []),
    ].join('; '),
  ];
}

function pct(share: number): string {
  return `${+(share * 100).toFixed(1)}%`;
}
