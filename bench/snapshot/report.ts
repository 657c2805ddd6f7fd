/** Statistics and the plain-text tables of bench/snapshot.ts (also valid Markdown, for docs/performance.md). */
import { count, cpu, markdownTable, ratio } from '../common/format.js';
import { encodeHistogram, mergeHistograms, percentiles } from '../common/latency.js';
import type { Series } from './client.js';
import type { FlowReport } from './publisher.js';
import type { StoppedReport } from './service.js';
import { BUSY_OTHER_PERCENT, otherPercent, percentOf, type Segment } from './usage.js';

export interface Stats {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** A series' latency in ms; undefined when it has no successful request. */
export function stats(series: Series | undefined): Stats | undefined {
  const latency = series && percentiles(mergeHistograms([series.latency]));
  if (latency === undefined) return undefined;
  return { n: latency.count, p50: latency.p50 / 1000, p99: latency.p99 / 1000, max: latency.max / 1000 };
}

export function mergeSeries(series: readonly Series[]): Series {
  const firstError = series.find((s) => s.firstError !== undefined)?.firstError;
  const replyBytes = series.find((s) => s.replyBytes !== undefined)?.replyBytes;
  return {
    latency: encodeHistogram(mergeHistograms(series.map((s) => s.latency))),
    errors: series.reduce((sum, s) => sum + s.errors, 0),
    ...(firstError !== undefined && { firstError }),
    ...(replyBytes !== undefined && { replyBytes }),
  };
}

/** What a request measurement saw; `baseline` names the row it is compared with. */
export interface RequestRow {
  readonly request: string;
  readonly topics: number;
  /** Ticks/s flowing meanwhile (0: none). */
  readonly flowRate: number;
  readonly alongside: string;
  readonly series: Series;
  readonly baseline?: Series;
  readonly segment?: Segment;
}

/** One check of the snapshot role's ingest: what it was offered, what it held afterwards, what it counted. */
export interface IngestCheck {
  readonly topics: number;
  readonly askedRate: number;
  readonly load: string;
  readonly flow: FlowReport;
  /** Topics whose held seq (or epoch) differs from what the publisher sent last; null: not compared (never caught up). */
  readonly stale: number | null;
  /** ms from the end of the flow until the marker sent after it was in the store; null: not within the limit. */
  readonly catchUpMs: number | null;
  readonly stopped: StoppedReport;
  readonly segment?: Segment;
  /** The SNAPSHOT series run during the flow, if any. */
  readonly snapshots?: Series;
  /** 2 when the first try failed while other programs were busy and this is the second. */
  readonly attempt?: number;
}

/** Within this much of the asked rate the publisher counts as having offered it. */
export const OFFERED_SHARE = 0.97;
/** A store still catching up this long after the flow ended was only buffering: a longer flow would lose ticks. */
export const CATCH_UP_LIMIT_MS = 1_000;
/** How long the ingest check waits for the store to catch up at all. */
export const CATCH_UP_WAIT_MS = 5_000;

export type Outcome = 'ok' | 'failed' | 'inconclusive';

/**
 * ok: the store took in everything offered, without a gap, and kept up. failed: it did not.
 * inconclusive: it kept up, but the publisher (starved of CPU) did not offer the asked rate,
 * so the rung says nothing about that rate.
 */
export function verdict(check: IngestCheck): { outcome: Outcome; problem: string } {
  const problems: string[] = [];
  const { counts } = check.stopped;
  if (counts.gap > 0) problems.push(`${count(counts.gap)} gaps`);
  if (counts.new_epoch > 0) problems.push('new epoch');
  if (check.stale !== null && check.stale > 0) problems.push(`${count(check.stale)} stale topics`);
  if (check.catchUpMs === null) problems.push(`not caught up in ${ms(CATCH_UP_WAIT_MS)}`);
  else if (check.catchUpMs > CATCH_UP_LIMIT_MS) problems.push('behind');
  if ((check.snapshots?.errors ?? 0) > 0) problems.push('request errors');
  const short = check.flow.sent < OFFERED_SHARE * check.askedRate * check.flow.seconds;
  if (problems.length > 0) return { outcome: 'failed', problem: [...problems, ...(short ? ['publisher short'] : [])].join(', ') };
  if (short) return { outcome: 'inconclusive', problem: 'inconclusive: publisher short' };
  return { outcome: 'ok', problem: '' };
}

const CPU_COLUMNS = ['svc CPU', 'svc loop delay max', 'svc GC max / total', 'svc RSS', 'machine CPU', 'other CPU'];

function cpuCells(segment: Segment | undefined): string[] {
  if (segment === undefined) return CPU_COLUMNS.map(() => '-');
  const { meter, usage } = segment;
  return [
    cpu(percentOf(meter.cpuMs, meter.wallMs)),
    ms(meter.loopDelayMaxMs),
    `${ms(meter.gcMaxMs)} / ${cpu(percentOf(meter.gcTotalMs, meter.wallMs))}`,
    `${meter.rssMb.toFixed(0)} MB`,
    cpu(percentOf(usage.machineBusyMs, usage.wallMs)),
    busy(otherPercent(usage)),
  ];
}

export function requestTable(rows: readonly RequestRow[]): string {
  const header = ['request', 'topics', 'ticks/s', 'alongside', 'n', 'p50', 'p99', 'max', 'vs baseline p50 / p99', ...CPU_COLUMNS, 'errors'];
  return markdownTable(header, rows.map((row) => {
    const s = stats(row.series);
    const b = stats(row.baseline);
    return [
      row.request,
      count(row.topics),
      row.flowRate > 0 ? count(row.flowRate) : 'idle',
      row.alongside,
      s ? String(s.n) : '0',
      ms(s?.p50),
      ms(s?.p99),
      ms(s?.max),
      s && b ? `${ratio(s.p50 / b.p50)} / ${ratio(s.p99 / b.p99)}` : '-',
      ...cpuCells(row.segment),
      row.series.errors > 0 ? `${row.series.errors}: ${row.series.firstError ?? ''}` : '0',
    ];
  }), ['request', 'alongside', 'errors']);
}

export function ingestTable(checks: readonly IngestCheck[]): string {
  const header = ['topics', 'asked/s', 'SNAPSHOT load', 'sent/s', 'pub CPU', 'absorbed/s', 'gaps', 'stale topics', 'catch-up', ...CPU_COLUMNS, 'SNAPSHOTs served: n, p50 / p99', 'verdict'];
  return markdownTable(header, checks.map((check) => {
    const s = stats(check.snapshots);
    const judged = verdict(check);
    return [
      count(check.topics),
      count(check.askedRate),
      check.load,
      count(check.flow.sent / check.flow.seconds),
      cpu(check.flow.cpuPercent),
      check.catchUpMs === null ? '-' : count(check.flow.sent / (check.flow.seconds + check.catchUpMs / 1000)),
      count(check.stopped.counts.gap),
      check.stale === null ? '-' : count(check.stale),
      check.catchUpMs === null ? `> ${ms(CATCH_UP_WAIT_MS)}` : ms(check.catchUpMs),
      ...cpuCells(check.segment),
      s ? `${s.n}, ${ms(s.p50)} / ${ms(s.p99)}` : '-',
      [judged.outcome === 'ok' ? 'ok' : judged.problem, ...(check.attempt === 2 ? ['try 2'] : [])].join('; '),
    ];
  }), ['SNAPSHOT load', 'verdict']);
}

/**
 * The highest asked rate at or below which every conclusive rung with this load passed, and
 * the first failure. Inconclusive rungs are passed over: they neither pass nor fail a rate.
 */
export function sustainedRate(checks: readonly IngestCheck[], load: string): { rate: number | undefined; firstFailure: IngestCheck | undefined } {
  const ladder = checks.filter((c) => c.load === load && verdict(c).outcome !== 'inconclusive').sort((a, b) => a.askedRate - b.askedRate);
  const failure = ladder.findIndex((c) => verdict(c).outcome === 'failed');
  const passed = failure < 0 ? ladder : ladder.slice(0, failure);
  return { rate: passed.at(-1)?.askedRate, firstFailure: failure < 0 ? undefined : ladder[failure] };
}

export function ms(value: number | undefined | null): string {
  if (value === undefined || value === null || !Number.isFinite(value)) return '-';
  if (value < 1) return `${Math.round(value * 1000)}µs`;
  if (value < 10) return `${value.toFixed(2)}ms`;
  if (value < 1_000) return `${value.toFixed(1)}ms`;
  return `${(value / 1000).toFixed(2)}s`;
}

/** Other programs' CPU, flagged when it makes the row suspect. */
function busy(percent: number | undefined): string {
  return percent === undefined ? '-' : `${cpu(percent)}${percent >= BUSY_OTHER_PERCENT ? ' (busy)' : ''}`;
}
