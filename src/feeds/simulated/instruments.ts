import { MarketSimulator } from './market.js';

/** One simulated instrument. Prices move in whole ticks, sizes in whole lots. */
export interface Instrument {
  venue: string;
  symbol: string;
  tickSize: number;
  startPrice: number;
  lotSize: number;
}

function crypto(symbol: string, startPrice: number, tickSize: number, lotSize: number): Instrument {
  return { venue: 'SIM', symbol, tickSize, startPrice, lotSize };
}

function equity(symbol: string, startPrice: number): Instrument {
  return { venue: 'SIMEQ', symbol, tickSize: 0.01, startPrice, lotSize: 1 };
}

/** 25 crypto pairs on venue SIM and 25 US equities on venue SIMEQ, at plausible price levels. */
export const DEFAULT_INSTRUMENTS: readonly Instrument[] = Object.freeze([
  crypto('BTC-USD', 64000, 0.5, 0.0001),
  crypto('BTC-EUR', 59000, 0.5, 0.0001),
  crypto('ETH-USD', 3100, 0.01, 0.001),
  crypto('ETH-BTC', 0.0485, 0.00001, 0.001),
  crypto('SOL-USD', 145, 0.01, 0.01),
  crypto('BNB-USD', 580, 0.01, 0.001),
  crypto('XRP-USD', 0.52, 0.0001, 1),
  crypto('ADA-USD', 0.45, 0.0001, 1),
  crypto('DOGE-USD', 0.12, 0.00001, 1),
  crypto('AVAX-USD', 28.5, 0.01, 0.01),
  crypto('DOT-USD', 6.2, 0.001, 0.1),
  crypto('LINK-USD', 14.2, 0.001, 0.01),
  crypto('LTC-USD', 72, 0.01, 0.001),
  crypto('BCH-USD', 380, 0.01, 0.001),
  crypto('MATIC-USD', 0.55, 0.0001, 1),
  crypto('ATOM-USD', 7.1, 0.001, 0.01),
  crypto('UNI-USD', 8.4, 0.001, 0.01),
  crypto('XLM-USD', 0.105, 0.00001, 1),
  crypto('ETC-USD', 22.5, 0.01, 0.01),
  crypto('FIL-USD', 4.3, 0.001, 0.01),
  crypto('NEAR-USD', 5.2, 0.001, 0.1),
  crypto('APT-USD', 8.9, 0.001, 0.01),
  crypto('ARB-USD', 0.75, 0.0001, 0.1),
  crypto('OP-USD', 1.8, 0.0001, 0.1),
  crypto('AAVE-USD', 150, 0.01, 0.001),
  equity('AAPL', 190),
  equity('MSFT', 420),
  equity('AMZN', 180),
  equity('GOOGL', 165),
  equity('META', 500),
  equity('NVDA', 120),
  equity('TSLA', 240),
  equity('BRK.B', 410),
  equity('JPM', 200),
  equity('V', 270),
  equity('JNJ', 155),
  equity('WMT', 68),
  equity('PG', 165),
  equity('XOM', 115),
  equity('UNH', 510),
  equity('HD', 350),
  equity('MA', 450),
  equity('KO', 63),
  equity('PEP', 170),
  equity('COST', 850),
  equity('DIS', 95),
  equity('NFLX', 650),
  equity('AMD', 160),
  equity('INTC', 31),
  equity('CSCO', 48),
].map((instrument) => Object.freeze(instrument)));

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
