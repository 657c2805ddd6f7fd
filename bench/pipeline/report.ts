/** Renders the results as plain-text tables (also valid Markdown, for docs/performance.md). */
import os from 'node:os';
import { count, cpu, markdownTable, micros } from '../common/format.js';
import {
  BUSY_OTHER_PERCENT, DELIVERED_SHARE, OFFERED_SHARE, RATIO_TARGET, bottleneck, judge, otherCpu, ratioToDirect, summarize,
  type ConfigSummary,
} from './analysis.js';
import { CONFIGS, type PointResult } from './point.js';

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
  const direct = summaries.find((s) => s.config === 'direct');
  const lines = [
    `Sustained = the highest rung with delivered >= ${pct(DELIVERED_SHARE)} of offered, zero seq gaps, ` +
      `and the publisher offering >= ${pct(OFFERED_SHARE)} of the asked rate.`,
  ];
  for (const summary of summaries) {
    lines.push(`- ${summary.config}: ${ratesLine(summary, direct)}`, `    ${limitLine(summary, cores)}`);
  }
  if (direct && !direct.limit && summaries.length > 1) {
    lines.push('Note: direct never failed, so each ratio above is an upper bound; extend --rates to find the real one.');
  }
  for (const p of points) if (p.error !== undefined) lines.push(`Error at ${p.config} ${count(p.rate)}/s: ${p.error}`);
  return lines.join('\n');
}

function ratesLine(summary: ConfigSummary, direct: ConfigSummary | undefined): string {
  const { sustained, peakDelivered } = summary;
  const compare = summary.config !== 'direct' && direct !== undefined;
  let line = `sustained ${sustained ? `${count(sustained.rate)}/s` : 'no rung'}`;
  if (compare) {
    const ratio = ratioToDirect(summary, direct);
    line += ratio === undefined
      ? ' (no ratio: direct sustained no rung)'
      : ` = ${pct(ratio)} of direct (target >= ${pct(RATIO_TARGET)}: ${ratio >= RATIO_TARGET ? 'met' : 'NOT met'})`;
  }
  line += `; peak delivered ${count(peakDelivered)}/s`;
  if (compare && direct.peakDelivered > 0) line += ` = ${pct(peakDelivered / direct.peakDelivered)} of direct's peak`;
  return line;
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
