/**
 * PROTOCOL.md section 8: an order book kept from book records, the one type every role and SDK holds
 * books with. Browser-safe (no Node import).
 */
import { isBetter, type BookLevel, type BookRecord, type BookSideName } from './book-record.js';
import { bookChecksum, CHECKSUM_DEPTH } from './checksum.js';

export interface OrderBookOptions {
  /**
   * Levels kept per side; undefined keeps every level. Levels beyond it are dropped after each
   * record, so they are not known when a better level goes away later: the book then lacks a level
   * the source holds. The checksum covers the top CHECKSUM_DEPTH levels only, so a bound of at
   * least that (with room for removals) keeps it verifiable; a mismatch means resync.
   */
  readonly maxDepth?: number;
}

/** One side, best first: parallel arrays of prices and sizes, found by binary search. */
class BookSide {
  private prices: number[] = [];
  private sizes: number[] = [];

  constructor(private readonly side: BookSideName) {}

  get length(): number {
    return this.prices.length;
  }

  /** Sets the level at `price` to the absolute `size`; size 0 removes it. */
  set(price: number, size: number): void {
    const i = this.indexOf(price);
    const held = i < this.prices.length && this.prices[i] === price;
    if (size === 0) {
      if (held) {
        this.prices.splice(i, 1);
        this.sizes.splice(i, 1);
      }
    } else if (held) {
      this.sizes[i] = size;
    } else {
      this.prices.splice(i, 0, price);
      this.sizes.splice(i, 0, size);
    }
  }

  clear(): void {
    this.prices = [];
    this.sizes = [];
  }

  truncate(depth: number): void {
    this.prices.length = Math.min(this.prices.length, depth);
    this.sizes.length = this.prices.length;
  }

  /** The best `depth` levels, best first. */
  levels(depth: number): BookLevel[] {
    const count = Math.min(depth, this.prices.length);
    const levels: BookLevel[] = new Array(count);
    for (let i = 0; i < count; i++) levels[i] = [this.prices[i]!, this.sizes[i]!];
    return levels;
  }

  /** The index of the first level not better than `price`: where it is, or would go. */
  private indexOf(price: number): number {
    let low = 0;
    let high = this.prices.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (isBetter(this.side, this.prices[mid]!, price)) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

export class OrderBook {
  private readonly bidSide = new BookSide('bids');
  private readonly askSide = new BookSide('asks');
  private readonly maxDepth: number;

  constructor(options: OrderBookOptions = {}) {
    const { maxDepth = Infinity } = options;
    if (!(maxDepth >= CHECKSUM_DEPTH)) throw new RangeError(`maxDepth ${maxDepth} is below the ${CHECKSUM_DEPTH} levels per side the checksum covers`);
    this.maxDepth = maxDepth;
  }

  /**
   * Applies a valid record (validateBookRecord): a snapshot replaces the book, an update sets each
   * listed level to its absolute size (0 removes it). Returns whether the book's checksum now equals
   * the record's; on false the book no longer matches the source's and wants a fresh snapshot.
   */
  apply(record: BookRecord): boolean {
    if (record.action === 'snapshot') {
      this.bidSide.clear();
      this.askSide.clear();
    }
    for (const [price, size] of record.bids) this.bidSide.set(price, size);
    for (const [price, size] of record.asks) this.askSide.set(price, size);
    this.bidSide.truncate(this.maxDepth);
    this.askSide.truncate(this.maxDepth);
    return this.checksum() === record.checksum;
  }

  /** Every bid level, best (highest) first. */
  bids(): BookLevel[] {
    return this.bidSide.levels(Infinity);
  }

  /** Every ask level, best (lowest) first. */
  asks(): BookLevel[] {
    return this.askSide.levels(Infinity);
  }

  /** The best `depth` levels of each side. */
  top(depth: number): { bids: BookLevel[]; asks: BookLevel[] } {
    return { bids: this.bidSide.levels(depth), asks: this.askSide.levels(depth) };
  }

  /** Levels held per side. */
  get depth(): { bids: number; asks: number } {
    return { bids: this.bidSide.length, asks: this.askSide.length };
  }

  checksum(): number {
    const { bids, asks } = this.top(CHECKSUM_DEPTH);
    return bookChecksum(bids, asks);
  }

  /** The whole book as a snapshot record, with its checksum: what a late joiner is given. */
  toSnapshot(venue: string, symbol: string, exchTs?: number): BookRecord {
    const bids = this.bids();
    const asks = this.asks();
    const record: BookRecord = { venue, symbol, action: 'snapshot', bids, asks, checksum: bookChecksum(bids, asks) };
    if (exchTs !== undefined) record.exchTs = exchTs;
    return record;
  }
}
