/** What the board shows with an empty filter: every instrument. */
export const ALL_TICKS = 'tick.*';

/**
 * The subscription pattern (PROTOCOL.md section 5) of what the user typed in the filter
 * box. A pattern starting with `tick.` is taken as typed (an exact topic, or a prefix
 * ending in `*`); anything else is a venue or venue.symbol prefix: `SIM.BTC` means
 * `tick.SIM.BTC*`. The gateway judges the pattern; a bad one comes back as BAD_TOPIC.
 */
export function patternOfFilter(text: string): string {
  const typed = text.trim();
  if (typed === '') return ALL_TICKS;
  if (typed.startsWith('tick.')) return typed;
  return `tick.${typed}${typed.endsWith('*') ? '' : '*'}`;
}
