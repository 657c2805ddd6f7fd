/** Plain-text tables (also valid Markdown, for docs/performance.md) and the cells the benchmarks put in them. */

/** Columns are right-aligned (numbers) except those named in `leftAligned`. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], leftAligned: readonly string[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const left = (i: number): boolean => leftAligned.includes(header[i]!);
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => (left(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (left(i) ? `-${'-'.repeat(w)}-` : `-${'-'.repeat(w)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** % of one core. */
export function cpu(percent: number | undefined): string {
  return percent === undefined ? '-' : `${percent.toFixed(0)}%`;
}

export function micros(value: number | undefined): string {
  if (value === undefined) return '-';
  if (value < 1_000) return `${value}µs`;
  if (value < 1_000_000) return `${(value / 1_000).toFixed(1)}ms`;
  return `${(value / 1_000_000).toFixed(2)}s`;
}

/** How many times one value is another's, e.g. 1.4x. */
export function ratio(value: number, digits = 1): string {
  return Number.isFinite(value) ? `${value.toFixed(digits)}x` : '-';
}
