const price = new Intl.NumberFormat('en-US', { maximumFractionDigits: 10 });
const volume = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** A number cell's text; a field the record lacks shows as a dash. */
export function formatPrice(value: number | undefined): string {
  return value === undefined ? '–' : price.format(value);
}

/** A book level's or a trade's size: exact like a price, since lots can be as small as 0.0001 (a volume rounds to 2 decimals). */
export const formatSize = formatPrice;

export function formatVolume(value: number | undefined): string {
  return value === undefined ? '–' : volume.format(value);
}

const clock = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3, hourCycle: 'h23' });

/** A wire time (microseconds since the Unix epoch) as the local time of day, to the millisecond. */
export function formatTime(micros: number): string {
  return clock.format(micros / 1000);
}

/** Change since the first price seen, in percent with a sign. */
export function formatChange(first: number | undefined, current: number | undefined): string {
  if (first === undefined || current === undefined || first === 0) return '–';
  const percent = ((current - first) / first) * 100;
  return `${percent > 0 ? '+' : percent < 0 ? '−' : ''}${Math.abs(percent).toFixed(2)} %`;
}

/** A duration given in milliseconds: ms below a second, else seconds with one decimal. */
export function formatMs(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}
