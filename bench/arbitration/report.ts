/** The table of bench/arbitration.ts (also valid Markdown, for docs/performance.md). */
import { count, cpu, markdownTable, micros, ratio } from '../common/format.js';
import { mergeHistograms, percentiles } from '../common/latency.js';
import type { CaseResult } from './run.js';

const HEADER = [
  'case', 'delivered/sent', 'lost on both', 'gaps', 'p50', 'p99', 'p99.9', 'max',
  'holes filled/expired', 'duplicates', 'order errors', 'receiver CPU', 'other CPU', 'p99 vs 1 line', 'p99 vs 2 lines',
];

/** Other programs' CPU (% of one core) above which a row's latency says more about them than about the arbiter. */
const BUSY_OTHER_PERCENT = 25;

/**
 * One row per case, with its p99 against the one-line case (what the second line and the window
 * cost together) and against two lines without loss (what the window costs beyond reading a second line).
 */
export function resultsTable(results: readonly CaseResult[]): string {
  const p99Of = (result: CaseResult | undefined): number | undefined => result && percentiles(mergeHistograms([result.receiver.latency]))?.p99;
  const oneLine = p99Of(results.find((r) => r.case.lines.length === 1));
  const twoLines = p99Of(results.find((r) => r.case.lines.length === 2 && r.case.commonLoss === 0 && r.case.lines.every((line) => line.loss === 0 && line.lagMs === 0)));
  const against = (p99: number | undefined, base: number | undefined): string => (p99 !== undefined && base !== undefined ? ratio(p99 / base, 2) : '-');
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
      against(latency?.p99, oneLine),
      against(latency?.p99, twoLines),
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
