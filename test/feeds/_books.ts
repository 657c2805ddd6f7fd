import { OrderBook, type BookRecord } from '../../src/wire/index.js';
import type { TrueBook } from './mocks/true-book.js';

/**
 * The book a subscriber holds after applying `records` (one topic's, in order) as PROTOCOL.md
 * section 8 says, and the indexes of the records whose checksum it did not match.
 */
export function subscriberBook(records: readonly BookRecord[]): { book: OrderBook; mismatches: number[] } {
  const book = new OrderBook();
  const mismatches: number[] = [];
  records.forEach((record, i) => {
    if (!book.apply(record)) mismatches.push(i);
  });
  return { book, mismatches };
}

/**
 * A subscriber's book of the records `records()` returns (one topic's, in order, growing): each
 * call of book() applies only the records that came since the last, so waiting on it stays cheap.
 */
export class FollowedBook {
  private readonly held = new OrderBook();
  private applied = 0;

  constructor(private readonly records: () => readonly BookRecord[]) {}

  book(): OrderBook {
    const records = this.records();
    for (; this.applied < records.length; this.applied++) this.held.apply(records[this.applied]!);
    return this.held;
  }
}

/**
 * Never a wrong book: each record's checksum is that of a state the true book went through, in
 * order (a later record never shows an older state). Returns a description of the first record
 * that is not, or undefined.
 */
export function wrongBook(records: readonly BookRecord[], truth: TrueBook): string | undefined {
  let state = 0;
  for (let i = 0; i < records.length; i++) {
    const found = truth.checksums.indexOf(records[i]!.checksum, state);
    if (found < 0) return `record ${i} (${records[i]!.action}) has checksum ${records[i]!.checksum}, no state of the true book from state ${state} on`;
    state = found;
  }
  return undefined;
}

/**
 * How much of the true book a published book is expected to show: all of it, its best `number`
 * levels (a source that publishes a depth of its whole book), or `cut`: exact from the best level
 * down as deep as it reaches, at least 10 levels (a source that knows only a REST snapshot's depth).
 */
export type TruthView = 'whole' | 'cut' | number;

/** Whether `book` shows the true book as `view` expects. */
export function showsTruth(book: OrderBook, truth: TrueBook, view: TruthView): boolean {
  const shown = book.top(Infinity);
  const expected = truth.book.top(view === 'cut' ? Math.max(10, book.depth.bids, book.depth.asks) : view === 'whole' ? Infinity : view);
  if (view === 'cut') {
    expected.bids = expected.bids.slice(0, Math.max(10, shown.bids.length));
    expected.asks = expected.asks.slice(0, Math.max(10, shown.asks.length));
  }
  return JSON.stringify(shown) === JSON.stringify(expected);
}

/**
 * Whether periodic snapshots came at `intervalMs`: none much early, and on average close to it. A
 * loaded machine delays timers, so one late period is no failure; a schedule that drifts is.
 */
export function onTime(periodsMs: readonly number[], intervalMs: number): boolean {
  const mean = periodsMs.reduce((sum, ms) => sum + ms, 0) / periodsMs.length;
  return periodsMs.every((ms) => ms >= intervalMs * 0.5) && mean >= intervalMs * 0.75 && mean <= intervalMs * 3;
}
