import { OrderBook, encodeBookRecord, parseTopic, type BookRecord } from '../wire/index.js';

/**
 * Why the snapshot service cannot vouch for a book topic (it is left out of SNAPSHOT replies
 * until a snapshot record of the topic arrives):
 * - `gap`: this service's own receive missed records of the topic; a book cannot be continued across them;
 * - `update_first`: the first record held of the topic or of its epoch is an update, a change
 *   to a book this service never had (it joined mid-stream, or the source broke section 8's rule);
 * - `checksum_mismatch`: after a record the book's checksum is not the record's: source and service disagree;
 * - `too_many_levels`: a side holds more than snapshot.maxBookLevels levels (the memory guard).
 */
export type BookProblem = 'gap' | 'update_first' | 'checksum_mismatch' | 'too_many_levels';

export const BOOK_PROBLEMS: readonly BookProblem[] = ['gap', 'update_first', 'checksum_mismatch', 'too_many_levels'];

/** Levels per side a held book may have before it is given up (snapshot.maxBookLevels). */
export const DEFAULT_MAX_BOOK_LEVELS = 5000;

/**
 * How a record reaches the held book: `next` continues what was applied (seq + 1); `gap` follows
 * records this service missed; `first` starts the topic or a new epoch of it.
 */
export type BookContinuity = 'next' | 'gap' | 'first';

/**
 * The state of one `book.` topic: the whole book applied from every record of the current epoch
 * in seq order (PROTOCOL.md section 8), or nothing while it is incomplete. Nothing is served from
 * an incomplete book, not even the last good one, because a client must never take a book that
 * differs from the source's; only a snapshot record (which replaces the book whatever came before)
 * makes it whole again.
 */
export class HeldBook {
  /** Undefined while incomplete. */
  private book: OrderBook | undefined;
  private newestExchTs: number | undefined;
  /** Why it is incomplete, from the moment it turned so; undefined while whole (and before the first record). */
  private problem: BookProblem | undefined;
  private readonly venue: string;
  private readonly symbol: string;

  constructor(
    topic: string,
    private readonly maxLevels: number,
  ) {
    const parsed = parseTopic(topic);
    this.venue = parsed.venue;
    this.symbol = parsed.symbol;
  }

  get complete(): boolean {
    return this.book !== undefined;
  }

  /** The reason the book is incomplete, or undefined while it is whole. */
  get incompleteBecause(): BookProblem | undefined {
    return this.book === undefined ? this.problem : undefined;
  }

  /**
   * Applies the next valid record held for the topic. Returns the problem when this record made a
   * book that was whole (or not started) incomplete, so that each loss is counted and logged once;
   * undefined otherwise (applied, repaired, or still waiting for a snapshot record).
   */
  apply(record: BookRecord, continuity: BookContinuity): BookProblem | undefined {
    if (record.action === 'snapshot') {
      this.book = new OrderBook();
    } else if (continuity !== 'next') {
      return this.lose(continuity === 'gap' ? 'gap' : 'update_first');
    } else if (this.book === undefined) {
      return undefined;
    }
    if (!this.book.apply(record)) return this.lose('checksum_mismatch');
    const { bids, asks } = this.book.depth;
    if (Math.max(bids, asks) > this.maxLevels) return this.lose('too_many_levels');
    this.newestExchTs = record.exchTs;
    this.problem = undefined;
    return undefined;
  }

  /** The whole book as a snapshot record's payload (it must be complete): what SNAPSHOT serves. */
  snapshotPayload(): Buffer {
    return encodeBookRecord(this.book!.toSnapshot(this.venue, this.symbol, this.newestExchTs));
  }

  private lose(problem: BookProblem): BookProblem | undefined {
    // The book is dropped, not kept aside: nothing may be served from it, and its memory is freed at once.
    this.book = undefined;
    const fresh = this.problem === undefined;
    this.problem = problem;
    return fresh ? problem : undefined;
  }
}
