/**
 * The gateway's own book of each `book.` topic (PROTOCOL.md section 8): applied from every record
 * the cache takes, in seq order, so that it can serve the whole book (a snapshot event) and merge
 * the records a conflating client missed (BookMerge) without asking anyone.
 */
import { BookMerge, OrderBook, type BookRecord, type Sequencing } from '../wire/index.js';
import type { RecordRing } from '../util/record-ring.js';

/**
 * Why a book record left the gateway's book unknown (not the source's): its checksum did not match
 * after applying it; an update that does not follow the held seq (a gap upstream did not repair:
 * the missed records may have changed levels below the checksum's ten); an update as the first
 * record of a topic or of an epoch (no book to apply it to); a book grown past MAX_BOOK_LEVELS.
 */
export const BOOK_BREAKS = ['checksum', 'gap', 'no_snapshot', 'too_deep'] as const;
export type BookBreak = (typeof BOOK_BREAKS)[number];

/**
 * Levels per side a held book may have. A source's book is bounded by its configured depth, far
 * below this; a book past it is a runaway source, dropped (unknown) rather than held, so a
 * topic's memory stays bounded whatever arrives.
 */
export const MAX_BOOK_LEVELS = 10_000;

const BOOK_PREFIX = 'book.';

export function isBookTopic(topic: string): boolean {
  return topic.startsWith(BOOK_PREFIX);
}

/**
 * One book topic as the gateway holds it: the book after the newest record, whether that is the
 * source's book, and the cache's clock at each record of the topic's history (so a conflating
 * client's merge can start after what it had at a clock value).
 */
export class HeldBook {
  private book = new OrderBook();
  private known = false;
  private newest: BookRecord | undefined;
  private readonly versions: VersionRing;

  constructor(private readonly history: RecordRing, capacity: number) {
    this.versions = new VersionRing(capacity);
  }

  /** Whether the book is the source's at the newest seq: only then is it served (snapshot, merges). */
  get isKnown(): boolean {
    return this.known;
  }

  /**
   * Applies the topic's next record, already appended to the history at the cache's clock
   * `version` (`relation`: how it followed the previous one). Returns why the book became unknown
   * when this record broke the book (or started the topic or an epoch with an update); the updates
   * after it leave an unknown book unknown, uncounted, until a snapshot record.
   */
  apply(record: BookRecord, relation: Sequencing, version: number): BookBreak | undefined {
    if (relation !== 'next') this.versions.clear();
    this.versions.append(version);
    const fresh = relation === 'first' || relation === 'new_epoch';
    if (record.action !== 'snapshot') {
      if (fresh) return this.lose('no_snapshot');
      if (!this.known) return undefined;
      if (relation !== 'next') return this.lose('gap');
    }
    if (!this.book.apply(record)) return this.lose('checksum');
    const { bids, asks } = this.book.depth;
    if (bids > MAX_BOOK_LEVELS || asks > MAX_BOOK_LEVELS) return this.lose('too_deep');
    this.known = true;
    this.newest = record;
    return undefined;
  }

  /** The whole book as a snapshot record, or undefined while it is unknown. */
  snapshotRecord(): BookRecord | undefined {
    const newest = this.newest;
    if (!this.known || newest === undefined) return undefined;
    return this.book.toSnapshot(newest.venue, newest.symbol, newest.exchTs);
  }

  /** The index in the history of the first record applied after the cache's clock `since`. */
  firstAfter(since: number): number {
    return this.versions.firstAbove(since);
  }

  /** The history's records from the `index`-th oldest on, merged into one (BookMerge). */
  mergedFrom(index: number): BookRecord {
    const merge = new BookMerge();
    // Parsed from the history's bytes rather than kept as objects (RecordRing says why); they were validated at ingest.
    for (const { record } of this.history.from(index)) merge.add(JSON.parse(record.toString('utf8')) as BookRecord);
    return merge.take()!;
  }

  /** The book is no longer the source's: its levels go (memory), and only a snapshot record brings it back. */
  private lose(reason: BookBreak): BookBreak {
    this.known = false;
    this.newest = undefined;
    this.book = new OrderBook();
    return reason;
  }
}

/** The clock values of a history's records, oldest first, dropped and cleared as the history's are (same capacity). */
class VersionRing {
  private readonly values: Float64Array;
  private head = 0;
  private count = 0;

  constructor(capacity: number) {
    this.values = new Float64Array(capacity);
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  append(value: number): void {
    const capacity = this.values.length;
    if (this.count === capacity) {
      this.head = (this.head + 1) % capacity;
      this.count--;
    }
    this.values[(this.head + this.count) % capacity] = value;
    this.count++;
  }

  /** The index of the first value above `bound` (values increase); the count when there is none. */
  firstAbove(bound: number): number {
    let low = 0;
    let high = this.count;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.values[(this.head + mid) % this.values.length]! <= bound) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
