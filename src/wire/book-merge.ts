/**
 * PROTOCOL.md section 8, conflation: the records of a book topic a client fell behind on, merged into
 * one whose application to the book the client holds gives the source's book after the newest.
 * Browser-safe (no Node import).
 */
import { isBetter, type BookLevel, type BookRecord, type BookSideName } from './book-record.js';

/**
 * Absorbs a contiguous run of one book topic's records, in seq order, and yields one record:
 *
 * - only updates: an update listing every level any of them changed, with its newest size (0 where
 *   it went away), so that levels they did not touch keep what the client holds;
 * - a snapshot anywhere in the run: a snapshot, the snapshot's book with the later updates applied.
 *   The other sound choice, an update that also lists (with size 0) every level of the book before
 *   that the snapshot removed, needs that book, which the merge then would have to keep for every
 *   client; the snapshot needs nothing but the run, and replaces whatever the client holds, as the
 *   source's own snapshot did (a client takes a snapshot record in a live event anyway, section 8).
 *
 * Either way the result carries the newest record's checksum and exchTs; extra fields are not
 * carried, as nothing says what they mean over a run. Exact for a book that keeps every level
 * (OrderBook without maxDepth), as the source's is.
 */
export class BookMerge {
  private readonly bids = new Map<number, number>();
  private readonly asks = new Map<number, number>();
  private snapshot = false;
  private newest: BookRecord | undefined;

  get isEmpty(): boolean {
    return this.newest === undefined;
  }

  /** Absorbs the next valid record of the run. */
  add(record: BookRecord): void {
    if (record.action === 'snapshot') {
      this.snapshot = true;
      this.bids.clear();
      this.asks.clear();
    }
    this.absorb(this.bids, record.bids);
    this.absorb(this.asks, record.asks);
    this.newest = record;
  }

  /** The merged record of everything added since the last take, or undefined when nothing was; then starts over. */
  take(): BookRecord | undefined {
    const newest = this.newest;
    if (newest === undefined) return undefined;
    const merged: BookRecord = {
      venue: newest.venue,
      symbol: newest.symbol,
      action: this.snapshot ? 'snapshot' : 'update',
      bids: bestFirst(this.bids, 'bids'),
      asks: bestFirst(this.asks, 'asks'),
      checksum: newest.checksum,
    };
    if (newest.exchTs !== undefined) merged.exchTs = newest.exchTs;
    this.bids.clear();
    this.asks.clear();
    this.snapshot = false;
    this.newest = undefined;
    return merged;
  }

  /** Newest size wins; a merged snapshot holds only levels that exist, a merged update remembers removals as 0. */
  private absorb(levels: Map<number, number>, changes: readonly BookLevel[]): void {
    for (const [price, size] of changes) {
      if (size === 0 && this.snapshot) levels.delete(price);
      else levels.set(price, size);
    }
  }
}

function bestFirst(levels: ReadonlyMap<number, number>, side: BookSideName): BookLevel[] {
  return [...levels].sort(([a], [b]) => (isBetter(side, a, b) ? -1 : 1));
}
