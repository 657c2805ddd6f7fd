/** The table of bench/arbitration.ts (also valid Markdown, for docs/performance.md). */
import { count, cpu, markdownTable, micros, ratio } from '../common/format.js';
import { mergeHistograms, percentiles } from '../common/latency.js';
import type { CaseResult } from './run.js';

const HEADER = [
  'case', 'delivered/sent', 'lost on both', 'gaps', 'p50', 'p99', 'p99.9', 'max',
  'holes filled/expired', 'duplicates', 'order errors', 'receiver CPU', 'other CPU', 'p99 vs 1 line', 'p99.9 vs 1 line',
];

/** Other programs' CPU (% of one core) above which a row's latency says more about them than about the arbiter. */
const BUSY_OTHER_PERCENT = 25;

/** One row per case; the ratios compare with `baseline` (the one-line case of the same run). */
export function resultsTable(results: readonly CaseResult[], baseline: CaseResult | undefined): string {
  const base = baseline && percentiles(mergeHistograms([baseline.receiver.latency]));
  const rows = results.map(({ case: which, source, receiver, otherCpuPercent }) => {
    const latency = percentiles(mergeHistograms([receiver.latency]));
    const arbitrated = which.lines.length > 1;
    return [
      which.name,
      `${count(receiver.delivered)}/${count(source.sent)}`,
      count(source.lostEverywhere),
      count(receiver.gaps),
      micros(latency?.p50),
      micros(latency?.p99),
      micros(latency?.p999),
      micros(latency?.max),
      arbitrated ? `${count(receiver.holesFilled)}/${count(receiver.holesExpired)}` : '-',
      arbitrated ? count(receiver.duplicates) : '-',
      count(receiver.orderErrors),
      cpu(receiver.cpuPercent),
      `${cpu(otherCpuPercent)}${otherCpuPercent >= BUSY_OTHER_PERCENT ? ' (busy)' : ''}`,
      latency && base ? ratio(latency.p99 / base.p99, 2) : '-',
      latency && base ? ratio(latency.p999 / base.p999, 2) : '-',
    ];
  });
  return markdownTable(HEADER, rows, ['case']);
}

export const LEGEND = `delivered/sent: messages stamped in the window that came out of the line set by the window end + grace, of those the source sent (each a seq).
lost on both: of those, lost on every line (a real loss); gaps: seqs the reader saw skipped, which it would repair.
p50..max: delivery latency, receive time minus header ts, of the delivered messages. holes: seq jumps the arbiter waited on,
filled by the other line in time or expired (passed on as a gap). duplicates: copies dropped, warm-up included. order errors must be 0.
receiver CPU: the LineSet process, % of one core; other CPU: what programs outside the bench used meanwhile ((busy): read that row with care).`;

/** What went wrong in a run, beyond what latency shows: the bench then exits non-zero. */
export function problems(results: readonly CaseResult[]): string[] {
  const found: string[] = [];
  for (const { case: which, source, receiver } of results) {
    if (receiver.orderErrors > 0) found.push(`${which.name}: ${receiver.orderErrors} messages out of order`);
    if (receiver.rejected > 0) found.push(`${which.name}: ${receiver.rejected} messages failed to decode`);
    if (source.stalls > 0) found.push(`${which.name}: the source fell behind its schedule ${source.stalls} times (busy machine?)`);
  }
  return found;
}
