import { MarketSimulator, type Instrument } from '../feeds/simulated/index.js';

const MAX_INSTRUMENTS = 100_000;
const NUMERIC_FIELDS = ['tickSize', 'startPrice', 'lotSize'] as const;

/**
 * Why a configured instrument list is unusable, or undefined when it is fine. Shapes are
 * checked here; what makes an instrument simulable (topic rules, decimals, uniqueness) the
 * simulator itself decides, so the two can never disagree.
 */
export function instrumentsProblem(value: unknown): string | undefined {
  if (!Array.isArray(value)) return 'must be a JSON array of instruments';
  if (value.length > MAX_INSTRUMENTS) return `must list at most ${MAX_INSTRUMENTS} instruments`;
  for (const [i, item] of value.entries()) {
    const problem = shapeProblem(item);
    if (problem !== undefined) return `instrument ${i}: ${problem}`;
  }
  if (value.length === 0) return undefined;
  try {
    new MarketSimulator(value as Instrument[], 0);
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

function shapeProblem(item: unknown): string | undefined {
  if (typeof item !== 'object' || item === null) return 'must be an object {venue, symbol, tickSize, startPrice, lotSize}';
  const fields = item as Record<string, unknown>;
  for (const name of ['venue', 'symbol'] as const) {
    if (typeof fields[name] !== 'string') return `${name} ${JSON.stringify(fields[name])} must be a string`;
  }
  for (const name of NUMERIC_FIELDS) {
    const v = fields[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) return `${name} ${JSON.stringify(v)} must be a number > 0`;
  }
  return undefined;
}
