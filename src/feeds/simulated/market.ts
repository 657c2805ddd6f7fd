import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { skipN } from 'pure-rand/utils/skipN';
import { bookTopic, isSegment, tickTopic, topicProblem, type BookRecord, type TickRecord, type TradeRecord } from '../../wire/index.js';
import { SimulatedBook } from './book.js';
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
/**
 * Books draw from a generator of their own, seeded from the same seed: the ticks of a seed are
 * the same with books on or off, at any depth.
 */
const BOOK_SEED_SALT = 0x5bd1_e995;

export interface MarketOptions {
  /** Levels per side of each instrument's book; 0 (the default) simulates no books. */
  readonly bookDepth?: number;
  /** Whether a step that trades also yields its trade record (default false). */
  readonly trades?: boolean;
}

/** What one step of one instrument yields: its L1 tick, and its book record and trade when simulated. */
export interface MarketStep {
  readonly tick: TickRecord;
  /** The book after the step; its best levels are the tick's bid/bidSize and ask/askSize. */
  readonly book: BookRecord | undefined;
  /** The step's trade, against the tick's quote: at the ask for a buyer, at the bid for a seller. */
  readonly trade: TradeRecord | undefined;
}

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
  /** Trades so far, which numbers each trade's tradeId. */
  tradeCount = 0;
  lastTicks = 0;
  lastLots = 0;
  volumeLots = 0;
  openTicks = 0;
  highTicks = 0;
  lowTicks = 0;

  readonly book: SimulatedBook | undefined;

  constructor(instrument: Instrument, bookDepth: number) {
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
    this.book = bookDepth > 0
      ? new SimulatedBook({ venue, symbol, tick: this.tick, lot: this.lot, depth: bookDepth, maxLots: this.maxQuoteLots })
      : undefined;
  }
}

/**
 * A deterministic market: each step advances one instrument and returns its full L1 record and,
 * when asked for, its order book's record and its trade. Prices and sizes are held as integer
 * ticks and lots, so published decimals are exact.
 */
export class MarketSimulator {
  private readonly states: readonly InstrumentState[];
  private readonly byBookTopic: ReadonlyMap<string, InstrumentState>;
  private readonly rng: RandomGenerator;
  private readonly bookRng: RandomGenerator;
  private readonly trades: boolean;

  /** `seed` is taken as a 32-bit integer, as pure-rand does. */
  constructor(instruments: readonly Instrument[], seed: number, options: MarketOptions = {}) {
    const { bookDepth = 0, trades = false } = options;
    if (!(Number.isInteger(bookDepth) && bookDepth >= 0)) throw new RangeError(`book depth ${bookDepth} is not a whole number of levels >= 0`);
    if (instruments.length === 0) throw new RangeError('the simulator needs at least one instrument');
    const states = instruments.map((instrument) => new InstrumentState(instrument, bookDepth));
    const names = new Set(states.map((s) => tickTopic(s.venue, s.symbol)));
    if (names.size !== states.length) throw new RangeError('instruments must have unique (venue, symbol) pairs');
    this.states = states;
    this.byBookTopic = new Map(states.map((s) => [bookTopic(s.venue, s.symbol), s]));
    this.trades = trades;
    this.rng = xoroshiro128plus(seed);
    skipN(this.rng, WARM_UP_DRAWS);
    this.bookRng = xoroshiro128plus(seed ^ BOOK_SEED_SALT);
    skipN(this.bookRng, WARM_UP_DRAWS);
  }

  /** The next record of every book is a snapshot: a new run of the feed opens each book afresh. */
  resyncBooks(): void {
    for (const s of this.states) s.book?.resync();
  }

  /** The next record of this instrument's book is a snapshot: a record of it did not reach subscribers, or a periodic one is due. */
  resyncBook(instrument: Pick<BookRecord, 'venue' | 'symbol'>): void {
    this.byBookTopic.get(bookTopic(instrument.venue, instrument.symbol))?.book?.resync();
  }

  /** Advances a uniformly chosen instrument by one step; `exchTs` is stamped on its records as given. */
  step(exchTs: number): MarketStep {
    const rng = this.rng;
    const s = this.states[uniformInt(rng, 0, this.states.length - 1)]!;

    const shock = (uniformFloat64(rng) * 2 - 1) * SHOCK_HALF_WIDTH;
    s.fairTicks += MEAN_REVERSION * (s.anchorTicks - s.fairTicks) + s.fairTicks * shock;
    const spread = spreadTicks(uniformInt(rng, 0, 99));
    const bidTicks = Math.max(1, Math.round(s.fairTicks - spread / 2));
    const askTicks = bidTicks + spread;
    const bidLots = uniformInt(rng, 1, s.maxQuoteLots);
    const askLots = uniformInt(rng, 1, s.maxQuoteLots);

    let trade: TradeRecord | undefined;
    if (uniformInt(rng, 0, 99) < TRADE_PERCENT) {
      const buyerAggressed = uniformInt(rng, 0, 1) === 1;
      const priceTicks = buyerAggressed ? askTicks : bidTicks;
      const lots = uniformInt(rng, 1, Math.min(s.maxTradeLots, buyerAggressed ? askLots : bidLots));
      s.tradeCount++;
      if (this.trades) {
        trade = {
          venue: s.venue, symbol: s.symbol, price: stepsToDecimal(priceTicks, s.tick), size: stepsToDecimal(lots, s.lot),
          side: buyerAggressed ? 'buy' : 'sell', tradeId: String(s.tradeCount), exchTs,
        };
      }
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

    const book = s.book?.follow({ bidTicks, bidLots, askTicks, askLots }, this.bookRng, exchTs);
    return { tick: tickRecord(s, bidTicks, bidLots, askTicks, askLots, exchTs), book, trade };
  }
}

/** The instrument's full L1 record after a step; object literals in protocol field order, so JSON.stringify needs no reordering. */
function tickRecord(s: InstrumentState, bidTicks: number, bidLots: number, askTicks: number, askLots: number, exchTs: number): TickRecord {
  const { tick, lot } = s;
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

/** Mostly one or two ticks, now and then a gapped book of up to 12. `percentile` is 0..99. */
function spreadTicks(percentile: number): number {
  if (percentile < 55) return 1;
  if (percentile < 80) return 2;
  if (percentile < 95) return 3;
  return 4 + (percentile - 95) * 2;
}
