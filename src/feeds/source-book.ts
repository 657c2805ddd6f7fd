import { bookChecksum, CHECKSUM_DEPTH, isBetter, OrderBook, type BookLevel, type BookRecord, type BookSideName } from '../wire/index.js';
import type { RecordSink } from './adapter.js';

/**
 * One instrument's order book as an exchange adapter keeps it from its upstream, and the book
 * records (PROTOCOL.md section 8) that bring subscribers along: a snapshot when one is due (the
 * first after a sync, after a refused record, a periodic one), otherwise an update of only the
 * levels that changed since the last record, each with the checksum of the book after it.
 *
 * What is published is the best `depth` levels of the upstream book. The update is the difference
 * between the published levels before and after, so a level that falls below the depth goes out
 * as removed (size 0) and one that rises into it from below goes out as added: a subscriber's
 * book is always exactly the published one, whatever its own depth, and the checksum holds.
 *
 * An upstream snapshot may itself be cut at a depth (Binance's REST book): beyond its worst
 * level the upstream book is unknown, and a change there cannot be placed among levels the
 * adapter never saw. Such changes are ignored, and the levels between the best and the cut stay
 * exact. When a cut side holds fewer than the CHECKSUM_DEPTH levels the checksum covers,
 * `topKnown` turns false: the adapter should fetch a fresh upstream snapshot.
 */
export class SourceBook {
  private readonly upstream = new OrderBook();
  private published: { bids: BookLevel[]; asks: BookLevel[] } = { bids: [], asks: [] };
  /** Per side, the worst price the upstream snapshot covered when it was cut; undefined: the whole side is known. */
  private cut: { bids: number | undefined; asks: number | undefined } = { bids: undefined, asks: undefined };
  private isSynced = false;
  private snapshotDue = true;
  private exchTs: number | undefined;

  constructor(
    readonly venue: string,
    readonly symbol: string,
    /** Levels per side published, >= CHECKSUM_DEPTH. */
    private readonly depth: number,
  ) {
    if (!(Number.isInteger(depth) && depth >= CHECKSUM_DEPTH)) throw new RangeError(`book depth ${depth} is below the ${CHECKSUM_DEPTH} levels the checksum covers`);
  }

  /** Whether the book holds an upstream snapshot; until then nothing is published. */
  get synced(): boolean {
    return this.isSynced;
  }

  /** False when a cut side no longer holds the levels the checksum covers: the upstream book must be fetched again. */
  get topKnown(): boolean {
    const { bids, asks } = this.upstream.depth;
    return (this.cut.bids === undefined || bids >= CHECKSUM_DEPTH) && (this.cut.asks === undefined || asks >= CHECKSUM_DEPTH);
  }

  /**
   * Takes the upstream's whole book (levels in any order, sizes > 0); the next record published is a
   * snapshot. `cutAt`: the upstream lists at most this many levels per side, so a side that long
   * may go deeper than it shows.
   */
  replace(bids: readonly BookLevel[], asks: readonly BookLevel[], exchTs?: number, cutAt = Infinity): void {
    this.upstream.apply({ venue: this.venue, symbol: this.symbol, action: 'snapshot', bids: [], asks: [], checksum: 0 });
    this.cut = { bids: worstIfCut('bids', bids, cutAt), asks: worstIfCut('asks', asks, cutAt) };
    this.change(bids, asks, exchTs);
    this.isSynced = true;
    this.snapshotDue = true;
  }

  /** Sets each listed level to its absolute size (0 removes it); levels beyond a cut are unknown and ignored. */
  change(bids: readonly BookLevel[], asks: readonly BookLevel[], exchTs?: number): void {
    const known = (side: BookSideName) => {
      const cut = this.cut[side];
      return ([price]: BookLevel) => cut === undefined || !isBetter(side, cut, price);
    };
    this.upstream.apply({
      venue: this.venue, symbol: this.symbol, action: 'update', bids: bids.filter(known('bids')), asks: asks.filter(known('asks')), checksum: 0,
    });
    if (exchTs !== undefined) this.exchTs = exchTs;
  }

  /** The upstream book is lost (a gap, a lost connection): nothing is published until the next replace(). */
  desync(): void {
    this.isSynced = false;
  }

  /** Publishes a snapshot now, when synced (periodic, for late joiners). */
  republish(sink: RecordSink): void {
    this.snapshotDue = true;
    this.publish(sink);
  }

  /**
   * Publishes what changed since the last record (nothing when nothing did), or a snapshot when one
   * is due; a record the sink refuses makes the next one a snapshot. Nothing while not synced.
   */
  publish(sink: RecordSink): void {
    if (!this.isSynced) return;
    const now = this.upstream.top(this.depth);
    const record: BookRecord = this.snapshotDue
      ? { venue: this.venue, symbol: this.symbol, action: 'snapshot', bids: now.bids, asks: now.asks, checksum: bookChecksum(now.bids, now.asks) }
      : {
        venue: this.venue, symbol: this.symbol, action: 'update',
        bids: changedLevels('bids', this.published.bids, now.bids), asks: changedLevels('asks', this.published.asks, now.asks),
        checksum: bookChecksum(now.bids, now.asks),
      };
    if (record.action === 'update' && record.bids.length === 0 && record.asks.length === 0) return;
    if (this.exchTs !== undefined) record.exchTs = this.exchTs;
    this.published = now;
    this.snapshotDue = !sink.book(record);
  }
}

/** The worst price of a side the upstream may have cut at `cutAt` levels; undefined when it is shorter, so whole. */
function worstIfCut(side: BookSideName, levels: readonly BookLevel[], cutAt: number): number | undefined {
  if (levels.length < cutAt) return undefined;
  let worst = levels[0]![0];
  for (const [price] of levels) if (isBetter(side, worst, price)) worst = price;
  return worst;
}

/** The levels of `after` that differ from `before`, and those gone from it with size 0; both best first, so is the result. */
function changedLevels(side: BookSideName, before: readonly BookLevel[], after: readonly BookLevel[]): BookLevel[] {
  const changed: BookLevel[] = [];
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    const old = before[i];
    const now = after[j];
    if (now === undefined || (old !== undefined && isBetter(side, old[0], now[0]))) {
      changed.push([old![0], 0]);
      i++;
    } else if (old === undefined || isBetter(side, now[0], old[0])) {
      changed.push(now);
      j++;
    } else {
      if (old[1] !== now[1]) changed.push(now);
      i++;
      j++;
    }
  }
  return changed;
}
