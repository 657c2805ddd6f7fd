import { uniformInt } from 'pure-rand/distribution/uniformInt';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { bookChecksum, CHECKSUM_DEPTH, type BookLevel, type BookRecord } from '../../wire/index.js';
import { stepsToDecimal, type DecimalStep } from './decimal.js';

/** Levels below the best that are given a new size per side and step: the depth moves too, a little. */
const RESIZES_PER_SIDE = 2;

/** The best level of each side as the step's L1 quote has it, in ticks and lots. */
export interface Quote {
  readonly bidTicks: number;
  readonly bidLots: number;
  readonly askTicks: number;
  readonly askLots: number;
}

/** What one book is made of: its instrument's grid and how deep and large it is. */
export interface BookShape {
  readonly venue: string;
  readonly symbol: string;
  readonly tick: DecimalStep;
  readonly lot: DecimalStep;
  /** Levels per side, >= 1. */
  readonly depth: number;
  /** Largest size of a level below the best, in lots. */
  readonly maxLots: number;
}

/**
 * One side's levels as lots by price in ticks, `direction` away from the best: -1 for bids (deeper
 * is lower), +1 for asks. The side is dense: every tick from the best to `depth` levels deep holds
 * a level (bids stop at one tick, the lowest price).
 */
class SimulatedSide {
  readonly lots = new Map<number, number>();

  constructor(private readonly direction: -1 | 1) {}

  /**
   * Moves the side to its new best level: levels better than it (crossed) or beyond the depth go,
   * missing ones within the depth are filled, and a few deeper ones are resized. Every level
   * touched is noted in `touched` with its lots before the step (0: not held), so that one set
   * twice, back to where it was, is known unchanged.
   */
  move(bestTicks: number, bestLots: number, shape: BookShape, rng: RandomGenerator, touched: Map<number, number>): void {
    const { direction, lots } = this;
    const levels = direction < 0 ? Math.min(shape.depth, bestTicks) : shape.depth;
    const worstTicks = bestTicks + direction * (levels - 1);
    for (const price of lots.keys()) {
      if ((price - bestTicks) * direction < 0 || (price - worstTicks) * direction > 0) {
        this.touch(price, touched);
        lots.delete(price);
      }
    }
    this.set(bestTicks, bestLots, touched);
    for (let i = 1; i < levels; i++) {
      const price = bestTicks + direction * i;
      if (!lots.has(price)) this.set(price, uniformInt(rng, 1, shape.maxLots), touched);
    }
    if (levels > 1) {
      for (let k = 0; k < RESIZES_PER_SIDE; k++) {
        this.set(bestTicks + direction * uniformInt(rng, 1, levels - 1), uniformInt(rng, 1, shape.maxLots), touched);
      }
    }
  }

  /** Prices in ticks, best first. */
  bestFirst(prices: Iterable<number>): number[] {
    return [...prices].sort((a, b) => (a - b) * this.direction);
  }

  /** The prices of `touched` whose lots differ from before the step, best first. */
  changedSince(touched: ReadonlyMap<number, number>): number[] {
    const changed: number[] = [];
    for (const [price, before] of touched) if ((this.lots.get(price) ?? 0) !== before) changed.push(price);
    return this.bestFirst(changed);
  }

  private set(price: number, lots: number, touched: Map<number, number>): void {
    this.touch(price, touched);
    this.lots.set(price, lots);
  }

  private touch(price: number, touched: Map<number, number>): void {
    if (!touched.has(price)) touched.set(price, this.lots.get(price) ?? 0);
  }
}

/**
 * The order book of one simulated instrument, led by its L1 quote: its best levels are the quote's,
 * the levels below lie on the tick grid in whole lots, and each step yields the record that brings
 * a subscriber's book along, a snapshot when one is due and otherwise only the changed levels.
 */
export class SimulatedBook {
  private readonly bids = new SimulatedSide(-1);
  private readonly asks = new SimulatedSide(1);
  private snapshotDue = true;

  constructor(private readonly shape: BookShape) {}

  /** Makes the next record a snapshot: after a lost record, or when a new run of the feed starts. */
  resync(): void {
    this.snapshotDue = true;
  }

  /** Moves the book to `quote` and returns its record, with the checksum of the book after it. */
  follow(quote: Quote, rng: RandomGenerator, exchTs: number): BookRecord {
    const bidsTouched = new Map<number, number>();
    const asksTouched = new Map<number, number>();
    this.bids.move(quote.bidTicks, quote.bidLots, this.shape, rng, bidsTouched);
    this.asks.move(quote.askTicks, quote.askLots, this.shape, rng, asksTouched);
    const { venue, symbol } = this.shape;
    if (this.snapshotDue) {
      this.snapshotDue = false;
      const bids = this.levels(this.bids, Infinity);
      const asks = this.levels(this.asks, Infinity);
      return { venue, symbol, action: 'snapshot', bids, asks, checksum: bookChecksum(bids, asks), exchTs };
    }
    // An update lists only the changes, but its checksum covers the top of the whole book.
    const checksum = bookChecksum(
      this.levels(this.bids, CHECKSUM_DEPTH), this.levels(this.asks, CHECKSUM_DEPTH));
    return {
      venue, symbol, action: 'update',
      bids: this.changedLevels(this.bids, bidsTouched), asks: this.changedLevels(this.asks, asksTouched),
      checksum, exchTs,
    };
  }

  /** The best `count` levels of the side as decimals. */
  private levels(side: SimulatedSide, count: number): BookLevel[] {
    return this.decimalLevels(side.bestFirst(side.lots.keys()).slice(0, count), side.lots);
  }

  /** The changed levels with their new sizes, 0 where a level went away. */
  private changedLevels(side: SimulatedSide, touched: ReadonlyMap<number, number>): BookLevel[] {
    return this.decimalLevels(side.changedSince(touched), side.lots);
  }

  private decimalLevels(prices: readonly number[], lotsAt: ReadonlyMap<number, number>): BookLevel[] {
    const { tick, lot } = this.shape;
    return prices.map((price) => [stepsToDecimal(price, tick), stepsToDecimal(lotsAt.get(price) ?? 0, lot)]);
  }
}
