import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { skipN } from 'pure-rand/utils/skipN';
import { isSegment, tickTopic, topicProblem, type TickRecord } from '../../wire/index.js';
import { decimalStep, stepsToDecimal, type DecimalStep } from './decimal.js';
import type { Instrument } from './instruments.js';

/** xoroshiro128plus copies the seed straight into its state, so neighbouring seeds start with near-equal draws. */
const WARM_UP_DRAWS = 8;
/** Relative half-width of the uniform per-step shock: about 2 basis points of standard deviation. */
const SHOCK_HALF_WIDTH = 0.0002 * Math.sqrt(3);
/**
 * Pull of the fair price back to the start price per step. Without it a feed run at 100,000/s
 * would wander to absurd prices within hours; with it they typically stay within about 10%.
 */
const MEAN_REVERSION = 0.00001;
const TRADE_PERCENT = 30;
/** Quote sizes up to about this notional (in the instrument's quote currency), so BTC and DOGE books look alike. */
const MAX_QUOTE_NOTIONAL = 100_000;
const MAX_TRADE_SHARE_OF_QUOTE = 5;

class InstrumentState {
  readonly venue: string;
  readonly symbol: string;
  readonly tick: DecimalStep;
  readonly lot: DecimalStep;
  readonly anchorTicks: number;
  readonly maxQuoteLots: number;
  readonly maxTradeLots: number;
  /** Unrounded, so that many small steps can move the quotes by a tick. */
  fairTicks: number;
  traded = false;
  lastTicks = 0;
  lastLots = 0;
  volumeLots = 0;
  openTicks = 0;
  highTicks = 0;
  lowTicks = 0;

  constructor(instrument: Instrument) {
    const { venue, symbol, tickSize, lotSize, startPrice } = instrument;
    const name = tickTopic(venue, symbol);
    const problem = topicProblem(name);
    if (problem !== undefined) throw new RangeError(`instrument ${name}: ${problem}`);
    // A dotted venue would make a valid topic that parses back to a different venue and symbol.
    if (!isSegment(venue)) throw new RangeError(`instrument ${name}: venue ${JSON.stringify(venue)} is not one topic segment`);
    this.venue = venue;
    this.symbol = symbol;
    this.tick = decimalStep(tickSize);
    this.lot = decimalStep(lotSize);
    this.anchorTicks = Math.round(startPrice / tickSize);
    if (!(this.anchorTicks >= 1)) throw new RangeError(`instrument ${name}: startPrice ${startPrice} is below one tick (${tickSize})`);
    this.fairTicks = this.anchorTicks;
    this.maxQuoteLots = Math.max(1, Math.round(MAX_QUOTE_NOTIONAL / (startPrice * lotSize)));
    this.maxTradeLots = Math.max(1, Math.round(this.maxQuoteLots / MAX_TRADE_SHARE_OF_QUOTE));
  }
}

/**
 * A deterministic L1 market: each step advances one instrument and returns its full record.
 * Prices and sizes are held as integer ticks and lots, so published decimals are exact.
 */
export class MarketSimulator {
  private readonly states: readonly InstrumentState[];
  private readonly rng: RandomGenerator;

  /** `seed` is taken as a 32-bit integer, as pure-rand does. */
  constructor(instruments: readonly Instrument[], seed: number) {
    if (instruments.length === 0) throw new RangeError('the simulator needs at least one instrument');
    const states = instruments.map((instrument) => new InstrumentState(instrument));
    const names = new Set(states.map((s) => tickTopic(s.venue, s.symbol)));
    if (names.size !== states.length) throw new RangeError('instruments must have unique (venue, symbol) pairs');
    this.states = states;
    this.rng = xoroshiro128plus(seed);
    skipN(this.rng, WARM_UP_DRAWS);
  }

  /** Advances a uniformly chosen instrument by one step; `exchTs` is stamped on the record as given. */
  next(exchTs: number): TickRecord {
    const rng = this.rng;
    const s = this.states[uniformInt(rng, 0, this.states.length - 1)]!;

    const shock = (uniformFloat64(rng) * 2 - 1) * SHOCK_HALF_WIDTH;
    s.fairTicks += MEAN_REVERSION * (s.anchorTicks - s.fairTicks) + s.fairTicks * shock;
    const spread = spreadTicks(uniformInt(rng, 0, 99));
    const bidTicks = Math.max(1, Math.round(s.fairTicks - spread / 2));
    const askTicks = bidTicks + spread;
    const bidLots = uniformInt(rng, 1, s.maxQuoteLots);
    const askLots = uniformInt(rng, 1, s.maxQuoteLots);

    if (uniformInt(rng, 0, 99) < TRADE_PERCENT) {
      const buyerAggressed = uniformInt(rng, 0, 1) === 1;
      const priceTicks = buyerAggressed ? askTicks : bidTicks;
      const lots = uniformInt(rng, 1, Math.min(s.maxTradeLots, buyerAggressed ? askLots : bidLots));
      if (!s.traded) {
        s.traded = true;
        s.openTicks = s.highTicks = s.lowTicks = priceTicks;
      }
      s.lastTicks = priceTicks;
      s.lastLots = lots;
      s.volumeLots += lots;
      if (priceTicks > s.highTicks) s.highTicks = priceTicks;
      if (priceTicks < s.lowTicks) s.lowTicks = priceTicks;
    }

    const { tick, lot } = s;
    // Object literals in protocol field order, so JSON.stringify needs no reordering.
    if (!s.traded) {
      return {
        venue: s.venue, symbol: s.symbol,
        bid: stepsToDecimal(bidTicks, tick), bidSize: stepsToDecimal(bidLots, lot),
        ask: stepsToDecimal(askTicks, tick), askSize: stepsToDecimal(askLots, lot),
        volume: 0, exchTs,
      };
    }
    return {
      venue: s.venue, symbol: s.symbol,
      bid: stepsToDecimal(bidTicks, tick), bidSize: stepsToDecimal(bidLots, lot),
      ask: stepsToDecimal(askTicks, tick), askSize: stepsToDecimal(askLots, lot),
      last: stepsToDecimal(s.lastTicks, tick), lastSize: stepsToDecimal(s.lastLots, lot),
      volume: stepsToDecimal(s.volumeLots, lot), exchTs,
      open: stepsToDecimal(s.openTicks, tick), high: stepsToDecimal(s.highTicks, tick), low: stepsToDecimal(s.lowTicks, tick),
    };
  }
}

/** Mostly one or two ticks, now and then a gapped book of up to 12. `percentile` is 0..99. */
function spreadTicks(percentile: number): number {
  if (percentile < 55) return 1;
  if (percentile < 80) return 2;
  if (percentile < 95) return 3;
  return 4 + (percentile - 95) * 2;
}
