import type { WebSocket } from 'ws';
import { CloseCode, type Position } from '../wire/index.js';
import type { TopicEvent } from './cache.js';
import { encodeFrame, outbound, type FrameBuilder, type OutboundEvent, type PositionedEvent } from './frames.js';

/** A resume point; with `replay`, the topic's ticks are held back until that REPLAY's answer has been offered. */
interface ResumePoint extends Position {
  readonly replay?: ReplayHold;
}

/** Identifies one hold (a topic unsubscribed and subscribed again gets a new one). */
export type ReplayHold = { readonly topic: string };

export interface SessionLimits {
  /** Bytes the socket may hold unsent before this client counts as behind. */
  readonly bufferedHighWater: number;
  /** Events queued for a client that is behind; beyond it the client is conflated or closed. */
  readonly maxQueuedEvents: number;
  /** How long a conflating client must keep up (never found behind) before it queues every tick again; default CONFLATION_HOLD_MS. */
  readonly conflationHoldMs?: number;
}

/**
 * A slow reader's socket drains in bursts (the kernel's buffers take a conflated frame at
 * once, then fill again), so "not behind right after a frame" does not mean it keeps up.
 * Leaving conflation then would queue up to maxQueuedEvents ticks again and collapse them
 * (O(ticks) per cycle, the cost conflation avoids); it leaves only after this long without
 * once being found behind.
 */
export const CONFLATION_HOLD_MS = 1000;

/**
 * Where a conflating client's ticks come from: the gateway's cache, read at flush time for the
 * topics the client follows, rather than offered to it tick by tick.
 */
export interface ConflationSource {
  /** The cache's clock now (EventCache.clock). */
  clock(): number;
  /**
   * Each topic the client follows (once) whose newest tick came after `since`, that tick's event
   * and position; for a book topic, what its book lacks of the records after `since` (EventCache.changedSince).
   */
  changedSince(since: number): Iterable<TopicEvent>;
  /** What a book at `from` lacks of the topic now (EventCache.bookSince); undefined when nothing. */
  bookSince(topic: string, from: Position): TopicEvent | undefined;
}

/** A source that holds nothing: a session on its own (tests) conflates only what is offered to it. */
const NO_SOURCE: ConflationSource = { clock: () => 0, changedSince: () => [], bookSince: () => undefined };

/**
 * Where a conflating client's book of a topic stands when that is not what the cache's clock
 * says (it was offered a snapshot or records after its last frame): at (epoch, seq), once it has
 * `first`, a snapshot event still to send, when there is one.
 */
interface BookFrom extends Position {
  readonly first?: OutboundEvent;
}

export interface SessionCounters {
  eventsSent: number;
  framesSent: number;
  bytesSent: number;
  conflated: number;
}

/** Adds `from` to `into`, field by field. */
export function addCounters(into: SessionCounters, from: Readonly<SessionCounters>): void {
  into.eventsSent += from.eventsSent;
  into.framesSent += from.framesSent;
  into.bytesSent += from.bytesSent;
  into.conflated += from.conflated;
}

/**
 * One WebSocket client's outbound side. Events are queued as ready-made JSON texts (built
 * once per tick for all clients) and flushed as one array frame per flush; clients whose
 * pending events are the same share the frame's bytes (FrameBuilder).
 *
 * Offering a live tick costs no lookup: the gateway's cache passes each tick on once and only
 * if it is newer than anything it held, and a subscription starts from the cache's own state,
 * so live ticks are in order by construction. The one exception is a client resuming with a
 * `since` the cache has not reached (it saw more elsewhere): its resume point per topic holds
 * back what it already has until the first newer tick passes. And while the ticks a resuming
 * client missed are fetched from the snapshot service (REPLAY), its live ticks of that topic
 * are held back (the cache keeps them) until the replayed ones have been queued.
 *
 * A client that is behind (socket buffer over the high-water mark) keeps queueing; past
 * `maxQueuedEvents` it either switches to conflation or, when it asked for conflate:false, is
 * closed with CloseCode.SLOW_CONSUMER. A conflating client is offered no more live ticks
 * (offerLive does nothing but count): once its socket drains, its next frame takes the newest
 * tick of each of its topics that changed since its last frame from the cache
 * (ConflationSource), so a slow client costs O(its topics) per frame, not O(ticks). What is
 * offered otherwise while it conflates (snapshots of a new subscription, a resume's events)
 * is kept newest per topic, bounded by its topic count. A book topic is never cut to its newest
 * event (an update is not the book): the frame brings the client's book from where it stands to
 * the newest seq with one merged update from the cache (ConflationSource.bookSince).
 */
export class Session {
  conflate = true;
  readonly counters: SessionCounters = { eventsSent: 0, framesSent: 0, bytesSent: 0, conflated: 0 };
  /**
   * Resume points not passed yet (usually none): nothing at or before one may follow. Made on
   * first use, as `forgotten` is: two empty Maps per idle client were about 0.4 KB of its heap.
   */
  private resumedPoints: Map<string, ResumePoint> | undefined;
  /** Per topic forgotten since the last flush: the queue length then (its earlier events are of the old subscription). */
  private forgotten: Map<string, number> | undefined;
  /** Events in arrival order while the client keeps up. */
  private queue: OutboundEvent[] = [];
  /** A hash of the serials in `queue`, so equal queues of different clients are found cheaply. */
  private fingerprint = 0;
  /** Once the client has fallen behind with conflation on: the newest event offered per topic since its last frame (no book topic: see books). */
  private conflated: Map<string, OutboundEvent> | undefined;
  /**
   * While conflating, the book topics offered something since the last frame: where the client's
   * book stands, so its next frame brings it to the newest seq (EventCache.bookSince). A book
   * topic without an entry was sent everything up to `conflatingSince`.
   */
  private books: Map<string, BookFrom> | undefined;
  /** While conflating: the cache's clock at the last frame (or at falling behind); what changed after it is pending. */
  private conflatingSince = 0;
  /** Live ticks not offered while conflating, less those that went out as a topic's newest: replaced ones. */
  private withheld = 0;
  /** performance.now() when the client was last found behind. */
  private lastBehindAt = 0;
  private conflatedBefore = false;
  private closing = false;
  lastFrameAt = Date.now();

  constructor(
    readonly id: string,
    private readonly socket: WebSocket,
    private readonly limits: SessionLimits,
    private readonly onSlowClose: () => void,
    private readonly source: ConflationSource = NO_SOURCE,
  ) {}

  /** Control events (welcome, subscribed, error, ...) are never conflated or dropped. */
  sendControl(event: string | OutboundEvent): void {
    this.enqueue(typeof event === 'string' ? outbound(event) : event);
  }

  /**
   * Queues a snapshot or tick event of `topic`; returns false when the client is closing or
   * already has it (at or before its resume point).
   */
  offer(topic: string, epoch: number, seq: number, event: OutboundEvent): boolean {
    if (this.closing) return false;
    if (this.resumedPoints !== undefined && this.resumedPoints.size > 0 && !this.pastResumePoint(topic, epoch, seq)) return false;
    if (this.conflated) {
      this.keepPending(this.conflated, topic, event);
    } else {
      this.enqueue(event);
      // A client that conflated before is a slow reader: behind again, it conflates at once
      // instead of first queueing maxQueuedEvents ticks to collapse.
      if (this.queue.length > (this.conflatedBefore && this.conflate ? 0 : this.limits.maxQueuedEvents) && this.behind()) this.fallBehind();
    }
    return true;
  }

  /**
   * Offers a live tick as it arrives: queued as offer() does, unless the client conflates; then
   * its next frame takes the topic's newest tick from the cache, and this only counts it.
   */
  offerLive(topic: string, epoch: number, seq: number, event: OutboundEvent): boolean {
    if (this.conflated === undefined) return this.offer(topic, epoch, seq, event);
    this.withheld++;
    return false;
  }

  /** Sets where a resuming client stands on a topic (its `since`), so nothing up to there is sent again. */
  resumeFrom(topic: string, epoch: number, seq: number): void {
    this.resumed.set(topic, { epoch, seq });
  }

  private get resumed(): Map<string, ResumePoint> {
    return (this.resumedPoints ??= new Map());
  }

  /**
   * Holds back every tick of `topic` from now on (the client resumes from (epoch, seq), and
   * what it missed is being fetched) until endReplay() with the returned hold.
   */
  holdForReplay(topic: string, epoch: number, seq: number): ReplayHold {
    const replay = { topic };
    this.resumed.set(topic, { epoch, seq, replay });
    return replay;
  }

  /** Whether `hold` still holds its topic back (not ended, the topic not forgotten or held anew since). */
  holds(hold: ReplayHold): boolean {
    return this.resumedPoints?.get(hold.topic)?.replay === hold;
  }

  /**
   * Ends a hold: queues `events` (the missed ticks in order, then what the cache holds after
   * them; or a snapshot) as a resume from `since`; nothing at or before the last of them follows.
   */
  endReplay(hold: ReplayHold, since: Position, events: readonly PositionedEvent[]): void {
    const { topic } = hold;
    this.resumed.set(topic, since);
    for (const { epoch, seq, event } of events) this.offer(topic, epoch, seq, event);
    const last = events.at(-1);
    if (last !== undefined) this.resumed.set(topic, { epoch: last.epoch, seq: last.seq });
  }

  /** The client no longer follows `topic`: its resume point and pending ticks of it go. */
  forget(topic: string): void {
    this.resumedPoints?.delete(topic);
    this.conflated?.delete(topic);
    this.books?.delete(topic);
    (this.forgotten ??= new Map()).set(topic, this.queue.length);
  }

  /** Where a resuming client stands on `topic`, until a newer tick passed. */
  resumePoint(topic: string): Position | undefined {
    return this.resumedPoints?.get(topic);
  }

  /** Events queued or kept for the next frame (a conflating client's ticks wait in the cache instead, see hasNews). */
  get pending(): number {
    return this.queue.length + (this.conflated?.size ?? 0) + (this.books?.size ?? 0);
  }

  /** Whether a flush may have something to send: events pending, or, conflating, whatever the cache holds newer. */
  get hasNews(): boolean {
    return this.conflated !== undefined || this.queue.length > 0;
  }

  /**
   * Sends everything pending as one array frame, unless the socket is still full; returns the
   * events sent, if any. With `frames`, a client whose pending events equal another's of the
   * same flush pass sends the same bytes.
   */
  flush(frames?: FrameBuilder): readonly OutboundEvent[] | undefined {
    if (this.closing || !this.hasNews) return undefined;
    if (this.behind()) {
      this.lastBehindAt = performance.now();
      return undefined;
    }
    let events = this.queue;
    const wasConflating = this.conflated !== undefined;
    if (this.conflated) {
      const clock = this.source.clock();
      const books = this.takeBooks();
      this.takeChanged(this.conflated);
      events = events.concat([...this.conflated.values()], books);
      this.conflated = undefined;
      this.books = undefined;
      this.conflatingSince = clock;
    }
    if (events.length > 0) {
      // One frame, even for a `subscribed` followed by a thousand snapshots: a client that awaits
      // `subscribed` then has the state too (the SDK resolves subscribe() after the whole frame).
      this.send(frames === undefined || wasConflating ? encodeFrame(events) : frames.frameOf(events, this.fingerprint), events.length);
      this.lastFrameAt = Date.now();
    }
    this.queue = [];
    this.fingerprint = 0;
    this.forgotten = undefined;
    // Conflating on while behind after this frame, or (conflation still allowed) found behind not long ago (CONFLATION_HOLD_MS).
    const held = this.conflate && performance.now() - this.lastBehindAt < (this.limits.conflationHoldMs ?? CONFLATION_HOLD_MS);
    if (wasConflating && (this.behind() || held)) {
      this.conflated = new Map();
    }
    return events.length > 0 ? events : undefined;
  }

  /** Bytes the socket holds unsent (what counts against bufferedHighWater). */
  get bufferedBytes(): number {
    return this.socket.bufferedAmount;
  }

  /**
   * Closes the client as a slow consumer if it is one now: behind, with conflation off. For a
   * client that stopped reading before it had queued `maxQueuedEvents`; returns whether it closed.
   */
  closeIfSlow(): boolean {
    if (this.closing || this.conflate || !this.behind()) return false;
    this.closeSlow();
    return true;
  }

  /** Whether pending ticks are being conflated (the client fell behind). */
  get conflating(): boolean {
    return this.conflated !== undefined;
  }

  private behind(): boolean {
    return this.socket.bufferedAmount > this.limits.bufferedHighWater;
  }

  /**
   * Adds to `pending` the newest tick of each topic that changed since the last frame, past
   * the client's resume points (a topic held for a REPLAY stays back), and counts the withheld
   * ticks that newer ones replaced.
   */
  private takeChanged(pending: Map<string, OutboundEvent>): void {
    let taken = 0;
    for (const { topic, epoch, seq, event } of this.source.changedSince(this.conflatingSince)) {
      // Already brought to the newest seq by takeBooks, from where the client's book stands.
      if (this.books?.has(topic)) continue;
      if (this.resumedPoints !== undefined && this.resumedPoints.size > 0 && !this.pastResumePoint(topic, epoch, seq)) continue;
      this.keepNewest(pending, topic, event);
      taken++;
    }
    this.counters.conflated += Math.max(0, this.withheld - taken);
    this.withheld = 0;
  }

  /**
   * The events of the book topics offered something since the last frame, in topic order: its
   * snapshot first where the client has none yet, then what its book lacks of the newest.
   */
  private takeBooks(): OutboundEvent[] {
    const events: OutboundEvent[] = [];
    if (this.books === undefined) return events;
    for (const [topic, from] of this.books) {
      if (from.first !== undefined) events.push(from.first);
      const change = this.source.bookSince(topic, from);
      if (change !== undefined) events.push(change.event);
    }
    return events;
  }

  private fallBehind(): void {
    if (!this.conflate) return this.closeSlow();
    // Keep control events in order up front; ticks collapse to the newest per topic.
    const control: OutboundEvent[] = [];
    this.conflated = new Map();
    this.conflatingSince = this.source.clock();
    this.lastBehindAt = performance.now();
    this.conflatedBefore = true;
    this.queue.forEach((event, i) => {
      const { topic } = event;
      if (topic === undefined) control.push(event);
      // A tick queued before its topic was forgotten (unsubscribed) must not follow the `unsubscribed` event.
      else if (i >= (this.forgotten?.get(topic) ?? 0)) this.keepPending(this.conflated!, topic, event);
    });
    this.queue = control;
  }

  private closeSlow(): void {
    this.closing = true;
    this.queue = [];
    this.onSlowClose();
    this.socket.close(CloseCode.SLOW_CONSUMER, 'slow consumer');
  }

  /** Whether a tick of `topic` is newer than the client's resume point there; the point goes once passed. */
  private pastResumePoint(topic: string, epoch: number, seq: number): boolean {
    const point = this.resumed.get(topic);
    if (point === undefined) return true;
    if (point.replay !== undefined || (point.epoch === epoch && seq <= point.seq)) return false;
    this.resumed.delete(topic);
    return true;
  }

  private send(frame: Buffer, events: number): void {
    this.socket.send(frame, TEXT_FRAME);
    this.counters.eventsSent += events;
    this.counters.framesSent++;
    this.counters.bytesSent += frame.length;
  }

  private enqueue(event: OutboundEvent): void {
    this.queue.push(event);
    this.fingerprint = (Math.imul(this.fingerprint, 31) + event.serial) | 0;
  }

  /** Keeps an event for the next conflated frame: the newest per topic, or for a book topic where the client's book stands. */
  private keepPending(pending: Map<string, OutboundEvent>, topic: string, event: OutboundEvent): void {
    if (event.book === undefined) this.keepNewest(pending, topic, event);
    else this.keepBook(topic, event.book, event);
  }

  /**
   * A book event is never replaced by a newer one (an update is not the book): the first event
   * of a run fixes where the client's book stands (a snapshot: at its seq, once sent; a record:
   * just before it), and the next frame merges everything after that from the cache.
   */
  private keepBook(topic: string, position: Position, event: OutboundEvent): void {
    const books = (this.books ??= new Map());
    if (event.text.startsWith(SNAPSHOT_PREFIX)) {
      books.set(topic, { first: event, epoch: position.epoch, seq: position.seq });
    } else if (!books.has(topic)) {
      books.set(topic, { epoch: position.epoch, seq: position.seq - 1 });
    } else {
      this.counters.conflated++;
    }
  }

  /**
   * Makes `text` the one pending event of `topic`. A pending snapshot event that a newer tick
   * replaces passes its type on: the client still gets a snapshot before any tick of the topic.
   */
  private keepNewest(pending: Map<string, OutboundEvent>, topic: string, event: OutboundEvent): void {
    // Overwritten in place, not deleted and re-added: this runs for every tick a slow client
    // misses, and each delete leaves a hole the map has to compact away later.
    const replaced = pending.get(topic);
    if (replaced !== undefined) {
      this.counters.conflated++;
      if (replaced.text.startsWith(SNAPSHOT_PREFIX) && event.text.startsWith(TICK_PREFIX)) {
        event = outbound(SNAPSHOT_PREFIX + event.text.slice(TICK_PREFIX.length), topic, event.ts);
      }
    }
    pending.set(topic, event);
  }
}

const TICK_PREFIX = '{"type":"tick",';
const SNAPSHOT_PREFIX = '{"type":"snapshot",';
/** Frames are UTF-8 JSON text, sent from Buffers. */
const TEXT_FRAME = { binary: false } as const;
