/** fast-check arbitraries and a Map model of an order book for the book tests (not a test file itself). */
import fc from 'fast-check';
import { bookChecksum, isBetter, type BookLevel, type BookRecord, type BookSideName } from '../../src/wire/index.js';

/** The book the way the protocol text defines it: a map price -> size per side, nothing else. */
export class BookModel {
  bids = new Map<number, number>();
  asks = new Map<number, number>();

  apply(record: BookRecord): void {
    if (record.action === 'snapshot') {
      this.bids = new Map();
      this.asks = new Map();
    }
    for (const [side, levels] of [[this.bids, record.bids], [this.asks, record.asks]] as const) {
      for (const [price, size] of levels) {
        if (size === 0) side.delete(price);
        else side.set(price, size);
      }
    }
  }

  sorted(): { bids: BookLevel[]; asks: BookLevel[] } {
    return { bids: bestFirst([...this.bids], 'bids'), asks: bestFirst([...this.asks], 'asks') };
  }

  checksum(): number {
    const { bids, asks } = this.sorted();
    return bookChecksum(bids, asks);
  }
}

export function bestFirst(levels: readonly BookLevel[], side: BookSideName): BookLevel[] {
  return [...levels].sort(([a], [b]) => (isBetter(side, a, b) ? -1 : 1));
}

/** Prices on a small grid, so that updates meet the levels earlier records made. */
const priceArb = fc.integer({ min: 1, max: 40 }).map((ticks) => ticks * 0.25);
const sizeArb = fc.integer({ min: 1, max: 50 }).map((lots) => Math.round(lots * 0.1 * 10) / 10);

interface RawRecord {
  readonly action: 'snapshot' | 'update';
  readonly bids: readonly BookLevel[];
  readonly asks: readonly BookLevel[];
}

const sideArb = (allowZero: boolean) =>
  fc.uniqueArray(fc.tuple(priceArb, allowZero ? fc.oneof(fc.constant(0), sizeArb) : sizeArb), { maxLength: 15, selector: ([price]) => price });

const rawArb = (action: 'snapshot' | 'update'): fc.Arbitrary<RawRecord> =>
  fc.record({ action: fc.constant(action), bids: sideArb(action === 'update'), asks: sideArb(action === 'update') });

/**
 * Valid records of one book topic, in seq order: a snapshot first (section 8: the first record of an
 * epoch), then updates with now and then another snapshot, each carrying the checksum of the book
 * after it (computed on the model).
 */
export const bookRunArb: fc.Arbitrary<BookRecord[]> = fc
  .tuple(rawArb('snapshot'), fc.array(fc.oneof({ weight: 6, arbitrary: rawArb('update') }, { weight: 1, arbitrary: rawArb('snapshot') }), { maxLength: 25 }))
  .map(([first, rest]) => {
    const model = new BookModel();
    return [first, ...rest].map((raw): BookRecord => {
      const record: BookRecord = {
        venue: 'SIM', symbol: 'BTC-USD', action: raw.action,
        bids: bestFirst(raw.bids, 'bids'), asks: bestFirst(raw.asks, 'asks'), checksum: 0,
      };
      model.apply(record);
      record.checksum = model.checksum();
      return record;
    });
  });
