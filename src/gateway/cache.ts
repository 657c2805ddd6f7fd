import { encodeBookRecord, sequence, type AnyRecord, type BookRecord, type Position } from '../wire/index.js';
import { BOOK_BREAKS, HeldBook, isBookTopic, type BookBreak } from './books.js';
import { deferredOutbound, outbound, type OutboundEvent, type PositionedEvent } from './frames.js';
import { RecordRing } from '../util/record-ring.js';
import { SortedNames } from '../util/sorted-names.js';

/** What the cache needs of an applied upstream update. */
export interface CachedUpdate {
  readonly topic: string;
  readonly epoch: number;
  readonly seq: number;
  readonly ts: number;
  /** The record's JSON bytes as published, embedded verbatim. */
  readonly payload: Buffer;
  /** The record as decoded and validated upstream; a book topic's is applied to the gateway's book, so it must be there. */
  readonly record?: AnyRecord;
}

/** One topic as the gateway holds it: its position and a short history for `since` resumes. */
interface TopicEvents {
  epoch: number;
  seq: number;
  ts: number;
  /** Records of the current epoch, oldest first, contiguous in seq, ending at `seq`: the newest is the topic's state. */
  history: RecordRing;
  /** The cache's clock when the newest record was applied. */
  version: number;
  /**
   * The snapshot event of the newest record, made on first demand and shared until the next
   * tick: clients subscribing together share its text, and so their initial frames too.
   */
  snapshot: OutboundEvent | undefined;
  /** The tick event of the newest record for conflating clients (changedSince), made on first demand and shared until the next tick. */
  tick: OutboundEvent | undefined;
  /** A book topic's book; undefined for every other class (their newest record is their state). */
  readonly book: HeldBook | undefined;
  /**
   * A book topic's merged updates for conflating clients, by the first seq they cover (WHOLE_BOOK:
   * the whole book), made on first demand and shared until the next record: clients last sent the
   * same seq share one text.
   */
  merges: Map<number, OutboundEvent> | undefined;
}

/** A topic's newest tick event with its position. */
export interface TopicEvent extends PositionedEvent {
  readonly topic: string;
}


export type ResumeAnswer =
  | { readonly kind: 'events'; readonly events: readonly PositionedEvent[] }
  /** Same epoch, but the history no longer reaches back to the next seq: the missed ticks must come from elsewhere (REPLAY). */
  | { readonly kind: 'not_retained' }
  /** Another epoch: the client's position is of an earlier (or a later) run of the source. */
  | { readonly kind: 'snapshot'; readonly event: PositionedEvent }
  /** Another epoch of a book topic whose book the gateway does not know now: no snapshot until its next snapshot record. */
  | { readonly kind: 'book_unknown' }
  | { readonly kind: 'nothing' };

const TICK_PREFIX = '{"type":"tick",';
/** The key of a book topic's whole-book tick event among its merges (seqs start at 1). */
const WHOLE_BOOK = 0;
const SNAPSHOT_PREFIX = '{"type":"snapshot",';

/**
 * A record a client missed (from history or REPLAY), as its tick event; `ts` when its age is to be
 * sampled as latency. A book's event carries its position (OutboundEvent.book), so that a client
 * conflating right after it gets its merge from there (Session.keepBook).
 */
export function missedEvent(update: CachedUpdate, ts: number | undefined): PositionedEvent {
  const { topic, epoch, seq } = update;
  return { epoch, seq, event: outbound(tickEventText(update), topic, ts, isBookTopic(topic) ? { epoch, seq } : undefined) };
}

/** A tick event's JSON text, with the record's payload bytes embedded verbatim (never re-serialised). */
function tickEventText(update: CachedUpdate): string {
  return eventText(TICK_PREFIX, update);
}

function eventText(prefix: string, { topic, epoch, seq, ts, payload }: CachedUpdate): string {
  return `${prefix}"topic":${JSON.stringify(topic)},"epoch":${epoch},"seq":${seq},"ts":${ts},"data":${payload.toString('utf8')}}`;
}

/**
 * The gateway's own last-value cache and history, as records. Each tick's event text is built
 * once, when the first client gets it (from the payload bytes as received: the record is
 * embedded verbatim, never re-serialised), and then shared by every client that gets it.
 */
export class EventCache {
  private readonly topics = new Map<string, TopicEvents>();
  /** The topics in order, for prefix lookups that cost what they find. */
  private readonly names = new SortedNames();
  private applied = 0;
  private readonly bookBreaks = new Map<BookBreak, number>(BOOK_BREAKS.map((reason) => [reason, 0]));

  constructor(private readonly historyPerTopic: number) {}

  get size(): number {
    return this.topics.size;
  }

  /** Updates applied so far: a topic's version is this clock's value when its newest record came. */
  get clock(): number {
    return this.applied;
  }

  /**
   * Records an update and returns its tick event, or undefined when the cache already
   * holds it or something newer (overlapping upstream prefixes deliver some updates twice).
   * A book topic's record is also applied to its book.
   */
  apply(update: CachedUpdate): OutboundEvent | undefined {
    const { topic, epoch, seq, ts } = update;
    let held = this.topics.get(topic);
    const relation = sequence(held, update);
    if (relation === 'duplicate' || relation === 'older') return undefined;
    const version = ++this.applied;
    const appears = held === undefined;
    if (held === undefined) {
      const history = new RecordRing(this.historyPerTopic);
      const book = isBookTopic(topic) ? new HeldBook(history, this.historyPerTopic) : undefined;
      held = { epoch, seq, ts, history, version, snapshot: undefined, tick: undefined, book, merges: undefined };
      this.topics.set(topic, held);
      this.names.add(topic);
    } else {
      if (relation !== 'next') held.history.clear();
      held.epoch = epoch;
      held.seq = seq;
      held.ts = ts;
      held.version = version;
      held.snapshot = undefined;
      held.tick = undefined;
      held.merges = undefined;
    }
    held.history.append(update.payload, ts);
    if (held.book === undefined) return deferredOutbound(() => tickEventText(update), topic, ts);
    const record = bookRecordOf(update);
    const broke = held.book.apply(record, relation, version);
    if (broke !== undefined) this.bookBreaks.set(broke, this.bookBreaks.get(broke)! + 1);
    // A book topic that appears is every follower's first event of it, which section 8 wants a snapshot event.
    const prefix = appears && record.action === 'snapshot' ? SNAPSHOT_PREFIX : TICK_PREFIX;
    return deferredOutbound(() => eventText(prefix, update), topic, ts, bookPosition(held));
  }

  /**
   * The topic's current state as a snapshot event, with its position: its newest record, or for
   * a book topic the whole book at the newest seq; undefined when nothing is held, or the book is
   * not known now (a record broke it, and no snapshot record has come since).
   */
  snapshot(topic: string): PositionedEvent | undefined {
    const held = this.topics.get(topic);
    if (!held) return undefined;
    if (held.snapshot === undefined) {
      const payload = held.book === undefined ? held.history.newest()!.record : wholeBook(held.book);
      if (payload === undefined) return undefined;
      // No ts on the event: a snapshot's age is how long the topic has been quiet, not a delivery delay to sample as latency.
      held.snapshot = outbound(eventText(SNAPSHOT_PREFIX, { ...positionOf(topic, held), payload }), topic, undefined, bookPosition(held));
    }
    return { epoch: held.epoch, seq: held.seq, event: held.snapshot };
  }

  /**
   * What a conflating client that was sent everything up to `since` (a clock value) lacks of the
   * topic, or undefined when nothing newer came: its newest tick event; for a book topic, the
   * records applied after `since` merged into one update (bookSince), or the whole book when the
   * history no longer reaches back that far; nothing while the book is unknown.
   */
  changedSince(topic: string, since: number): TopicEvent | undefined {
    const held = this.topics.get(topic);
    if (held === undefined || held.version <= since) return undefined;
    if (held.book !== undefined) {
      // The first record after `since` is the history's oldest: what the client had before it is gone.
      const first = held.book.firstAfter(since);
      return this.bookChange(topic, held, first === 0 ? undefined : held.seq - held.history.size + 1 + first);
    }
    return { topic, epoch: held.epoch, seq: held.seq, event: this.newestTick(topic, held) };
  }

  /**
   * What a conflating client whose book of `topic` is at `from` lacks: the records after it
   * merged into one update, shared with every client at the same seq until the next record; the
   * whole book when the history no longer reaches back to from.seq + 1 or the epoch changed;
   * undefined when it is up to date, the topic is no book the cache holds, or the book is unknown.
   */
  bookSince(topic: string, from: Position): TopicEvent | undefined {
    const held = this.topics.get(topic);
    if (held?.book === undefined) return undefined;
    if (from.epoch !== held.epoch) return this.bookChange(topic, held, undefined);
    if (from.seq >= held.seq) return undefined;
    const oldest = held.seq - held.history.size + 1;
    return this.bookChange(topic, held, from.seq + 1 >= oldest ? from.seq + 1 : undefined);
  }

  /** Counts of book records that left a topic's book unknown, by reason (BOOK_BREAKS). */
  get bookBreakCounts(): ReadonlyMap<BookBreak, number> {
    return this.bookBreaks;
  }

  /**
   * What a client that last saw (epoch, seq) of `topic` needs: the missed ticks in order from
   * history, nothing when it is up to date, `not_retained` when the history no longer reaches
   * back that far, or a fresh snapshot when the epoch changed.
   */
  resume(topic: string, epoch: number, seq: number): ResumeAnswer {
    const held = this.topics.get(topic);
    if (!held) return { kind: 'nothing' };
    if (held.epoch === epoch) {
      if (seq >= held.seq) return { kind: 'nothing' };
      const oldest = held.seq - held.history.size + 1;
      if (seq + 1 >= oldest) {
        const events = held.history.from(seq + 1 - oldest).map(({ record, ts }, i) => missedEvent({ topic, epoch, seq: seq + 1 + i, ts, payload: record }, ts));
        return { kind: 'events', events };
      }
      return { kind: 'not_retained' };
    }
    const snapshot = this.snapshot(topic);
    return snapshot === undefined ? { kind: 'book_unknown' } : { kind: 'snapshot', event: snapshot };
  }

  /** The held topics starting with `prefix`, in order. */
  topicsWithPrefix(prefix: string): string[] {
    return this.names.withPrefix(prefix);
  }

  has(topic: string): boolean {
    return this.topics.has(topic);
  }

  /**
   * A book topic's change from the record at `fromSeq` on (undefined: the whole book), or
   * undefined while its book is unknown. One record is its own tick event; a run is merged once
   * per fromSeq until the next record. The whole book goes as a tick event whose data is a
   * snapshot record (a live record may be one, section 8): a `snapshot` event comes only before
   * a topic's live events (section 5), and this client has had some.
   */
  private bookChange(topic: string, held: TopicEvents, fromSeq: number | undefined): TopicEvent | undefined {
    const book = held.book!;
    if (!book.isKnown) return undefined;
    const { epoch, seq } = held;
    if (fromSeq === seq) return { topic, epoch, seq, event: this.newestTick(topic, held) };
    const from = fromSeq ?? WHOLE_BOOK;
    held.merges ??= new Map();
    let event = held.merges.get(from);
    if (event === undefined) {
      const record = fromSeq === undefined ? book.snapshotRecord()! : book.mergedFrom(fromSeq - (seq - held.history.size + 1));
      event = outbound(eventText(TICK_PREFIX, { ...positionOf(topic, held), payload: encodeBookRecord(record) }), topic, held.ts, { epoch, seq });
      held.merges.set(from, event);
    }
    return { topic, epoch, seq, event };
  }

  private newestTick(topic: string, held: TopicEvents): OutboundEvent {
    return (held.tick ??= outbound(tickEventText(newestOf(topic, held)), topic, held.ts, bookPosition(held)));
  }

  /** Drops topics no client can want any more, keeping memory bounded by interest. */
  retain(wanted: (topic: string) => boolean): void {
    for (const topic of this.topics.keys()) if (!wanted(topic)) this.topics.delete(topic);
    this.names.retain(wanted);
  }
}

/** The topic's newest record as an update. */
function newestOf(topic: string, held: TopicEvents): CachedUpdate {
  return { ...positionOf(topic, held), payload: held.history.newest()!.record };
}

function positionOf(topic: string, held: TopicEvents): Omit<CachedUpdate, 'payload'> {
  return { topic, epoch: held.epoch, seq: held.seq, ts: held.ts };
}

/** A book topic's events carry the position they bring a client's book to (OutboundEvent.book). */
function bookPosition(held: TopicEvents): Position | undefined {
  return held.book === undefined ? undefined : { epoch: held.epoch, seq: held.seq };
}

function wholeBook(book: HeldBook): Buffer | undefined {
  const record = book.snapshotRecord();
  return record === undefined ? undefined : encodeBookRecord(record);
}

/** The decoded book record of a book topic's update (the upstream validated it by the topic's class). */
function bookRecordOf(update: CachedUpdate): BookRecord {
  if (update.record === undefined) throw new TypeError(`the update of book topic ${update.topic} carries no decoded record`);
  return update.record as BookRecord;
}
