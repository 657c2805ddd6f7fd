import type { BookLevel } from '../../wire/index.js';
import { parseDecimal } from './decimal.js';
import { UpstreamReject, field } from './feed.js';

/** The book levels of field `name`, a list of [price, size] decimal strings (Binance's and Coinbase's books), as numbers. */
export function levels(object: Record<string, unknown>, name: string): BookLevel[] {
  const list = object[name];
  if (!Array.isArray(list)) throw new UpstreamReject('field', `field ${name}: ${JSON.stringify(list) ?? 'missing'} is not a list of [price, size]`);
  return list.map((pair: unknown, i) => {
    if (!Array.isArray(pair) || pair.length < 2) throw new UpstreamReject('field', `field ${name}[${i}]: ${JSON.stringify(pair)} is not [price, size]`);
    return level(pair[0], pair[1], `${name}[${i}]`);
  });
}

/** One level of decimal strings: a price > 0 and a size >= 0 (0: the level is gone); `what` names it in a reject. */
export function level(price: unknown, size: unknown, what: string): BookLevel {
  const level = [decimal(price, `${what} price`), decimal(size, `${what} size`)] as const;
  if (!(level[0] > 0 && level[1] >= 0)) throw new UpstreamReject('field', `field ${what}: ${JSON.stringify([price, size])} is not a price > 0 and a size >= 0`);
  return level;
}

function decimal(value: unknown, what: string): number {
  return field({ [what]: value }, what, parseDecimal);
}
