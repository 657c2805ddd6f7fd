import { backoffDelay, type BackoffOptions } from '../../util/backoff.js';
import { CHECKSUM_DEPTH, type BookLevel } from '../../wire/index.js';
import type { AdapterMonitor, RecordSink } from '../adapter.js';
import { UpstreamReject, field, integer } from '../exchange/feed.js';
import { levels } from '../exchange/levels.js';
import { SourceBook } from '../source-book.js';
import { fetchDepthSnapshot, type DepthSnapshot } from './rest.js';

export interface DepthOptions {
  readonly venue: string;
  /** REST base URL of GET /api/v3/depth. */
  readonly restUrl: string;
  /** Levels per side of the REST snapshot, and so of the published book. */
  readonly depthLimit: number;
  /** A REST snapshot not complete after this long is given up and fetched again. */
  readonly snapshotTimeoutMs: number;
  /** Diff events held while the REST snapshot is awaited; one more starts the sync over. */
  readonly maxBufferedEvents: number;
  /** Between failed snapshot fetches. */
  readonly backoff: BackoffOptions;
}

/** One `depthUpdate` of the diff stream: the book changes of update ids `firstId` (U) to `lastId` (u). */
interface DiffEvent {
  readonly firstId: number;
  readonly lastId: number;
  readonly bids: BookLevel[];
  readonly asks: BookLevel[];
  readonly exchTs: number;
}

/**
 * One symbol's order book kept from the diff depth stream `<symbol>@depth@100ms` by Binance's
 * "How to manage a local order book correctly": diff events are buffered, a REST snapshot is
 * fetched, events up to its `lastUpdateId` are dropped, the first one applied must span
 * `lastUpdateId + 1` (U <= lastUpdateId + 1 <= u) and each later one must follow on (U = previous
 * u + 1). Anything else is a gap: the sync starts over (buffer, fetch, apply) and the book is
 * published again as a fresh snapshot once it is whole; nothing of it goes out meanwhile, so
 * subscribers keep the last good book until the snapshot replaces it.
 */
export class DepthSync {
  readonly book: SourceBook;
  private buffer: DiffEvent[] = [];
  /** The update id the book is at. */
  private lastUpdateId = 0;
  /** The next event is the first after the REST snapshot, which it may overlap. */
  private firstAfterSnapshot = true;
  /** Snapshot fetches since the book was last in sync; the first goes at once, later ones back off. */
  private attempts = 0;
  private request: AbortController | undefined;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    readonly symbol: string,
    private readonly options: DepthOptions,
    private readonly emit: RecordSink,
    private readonly monitor: AdapterMonitor,
  ) {
    this.book = new SourceBook(options.venue, symbol, options.depthLimit);
  }

  /** One message of the diff stream; a malformed one breaks the chain of update ids, so the sync starts over. */
  onMessage(data: Record<string, unknown>): void {
    let event: DiffEvent;
    try {
      event = diffEvent(data);
    } catch (err) {
      this.resync();
      throw err;
    }
    if (this.book.synced) this.applyLive(event);
    else this.hold([event]);
  }

  /** Forgets the book and what was buffered, and stops fetching: the next event starts a new sync (after a lost connection). */
  startOver(): void {
    this.book.desync();
    this.buffer = [];
    this.request?.abort();
    this.request = undefined;
    clearTimeout(this.retry);
    this.retry = undefined;
  }

  /** Starts a new sync at once: the stream is live, and the snapshot need not wait for its next event. */
  private resync(): void {
    this.startOver();
    this.fetchSnapshot();
  }

  /** The feed stopped. */
  stop(): void {
    this.startOver();
  }

  private applyLive(event: DiffEvent): void {
    if (event.lastId <= this.lastUpdateId) {
      // Older than a snapshot fetched with nothing buffered: dropped, as the guide says.
      if (this.firstAfterSnapshot) return;
      // Both connections deliver during a planned reconnect.
      throw new UpstreamReject('out_of_order', `${this.symbol} diff depth event ${event.firstId}..${event.lastId} is not after ${this.lastUpdateId}`);
    }
    if (!this.follows(event)) return this.gap([event]);
    this.apply(event);
    if (!this.book.topKnown) return this.exhausted();
    this.book.publish(this.emit);
  }

  /** Buffers events while the snapshot is awaited, and fetches it once there is something to sync to. */
  private hold(events: readonly DiffEvent[]): void {
    this.buffer.push(...events);
    if (this.buffer.length > this.options.maxBufferedEvents) {
      this.monitor.rejected('depth_buffer', `${this.symbol}: more than ${this.options.maxBufferedEvents} diff events while awaiting the REST snapshot; starting the sync over`);
      this.startOver();
      return;
    }
    if (this.request === undefined && this.retry === undefined) this.fetchSnapshot();
  }

  private fetchSnapshot(): void {
    const delay = this.attempts === 0 ? 0 : backoffDelay(this.attempts, this.options.backoff);
    this.attempts++;
    this.retry = setTimeout(() => this.monitor.guard(() => {
      this.retry = undefined;
      const request = new AbortController();
      this.request = request;
      const { restUrl, depthLimit, snapshotTimeoutMs } = this.options;
      const settled = (then: () => void) => this.monitor.guard(() => {
        // Aborted (stopped, or started over): whatever it brought is of an older sync.
        if (this.request !== request) return;
        this.request = undefined;
        then();
      });
      fetchDepthSnapshot({ restUrl, symbol: this.symbol, limit: depthLimit, timeoutMs: snapshotTimeoutMs, signal: request.signal }).then(
        (snapshot) => settled(() => this.sync(snapshot)),
        (err: unknown) => settled(() => {
          if (!(err instanceof UpstreamReject)) throw err;
          this.monitor.rejected(err.reason, `${this.symbol}: ${err.message}`);
          this.fetchSnapshot();
        }),
      );
    }), delay);
  }

  /** Brings the REST snapshot up to date with the buffered events and publishes it, or starts over. */
  private sync(snapshot: DepthSnapshot): void {
    const buffered = this.buffer;
    const first = buffered[0];
    if (first !== undefined && snapshot.lastUpdateId + 1 < first.firstId) {
      this.monitor.rejected('rest_stale', `${this.symbol}: the REST snapshot at update ${snapshot.lastUpdateId} is older than the first buffered event (${first.firstId}); fetching again`);
      this.fetchSnapshot();
      return;
    }
    this.buffer = [];
    this.book.replace(snapshot.bids, snapshot.asks, undefined, this.options.depthLimit);
    this.lastUpdateId = snapshot.lastUpdateId;
    this.firstAfterSnapshot = true;
    for (let i = 0; i < buffered.length; i++) {
      const event = buffered[i]!;
      if (event.lastId <= this.lastUpdateId) continue;
      if (!this.follows(event)) return this.gap(buffered.slice(i));
      this.apply(event);
    }
    if (!this.book.topKnown) return this.exhausted();
    this.attempts = 0;
    this.book.publish(this.emit);
  }

  private follows(event: DiffEvent): boolean {
    const next = this.lastUpdateId + 1;
    return this.firstAfterSnapshot ? event.firstId <= next && next <= event.lastId : event.firstId === next;
  }

  private apply(event: DiffEvent): void {
    this.book.change(event.bids, event.asks, event.exchTs);
    this.lastUpdateId = event.lastId;
    this.firstAfterSnapshot = false;
  }

  /** Update ids were skipped: a new sync starts from `events`, the first of which did not follow on. */
  private gap(events: readonly DiffEvent[]): void {
    this.monitor.upstreamGap();
    this.startOver();
    this.hold(events);
  }

  /** The cut REST book has lost too many levels to know the checksum's top levels (SourceBook.topKnown): fetch a deeper one. */
  private exhausted(): void {
    this.monitor.rejected('book_depth', `${this.symbol}: fewer than ${CHECKSUM_DEPTH} known levels left on a side of the REST book; fetching it again`);
    this.resync();
  }
}

function diffEvent(data: Record<string, unknown>): DiffEvent {
  return {
    firstId: field(data, 'U', integer),
    lastId: field(data, 'u', integer),
    bids: levels(data, 'b'),
    asks: levels(data, 'a'),
    exchTs: field(data, 'E', integer) * 1000,
  };
}
