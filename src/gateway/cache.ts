import { sequence } from '../wire/index.js';
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
  | { readonly kind: 'nothing' };

const TICK_PREFIX = '{"type":"tick",';
const SNAPSHOT_PREFIX = '{"type":"snapshot",';

/** A tick event's JSON text, with the record's payload bytes embedded verbatim (never re-serialised). */
export function tickEventText(update: CachedUpdate): string {
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
   */
  apply(update: CachedUpdate): OutboundEvent | undefined {
    const { topic, epoch, seq, ts } = update;
    const held = this.topics.get(topic);
    const relation = sequence(held, update);
    if (relation === 'duplicate' || relation === 'older') return undefined;
    const event = deferredOutbound(() => tickEventText(update), topic, ts);
    const version = ++this.applied;
    if (held === undefined) {
      const history = new RecordRing(this.historyPerTopic);
      history.append(update.payload, ts);
      this.topics.set(topic, { epoch, seq, ts, history, version, snapshot: undefined, tick: undefined });
      this.names.add(topic);
      return event;
    }
    if (relation !== 'next') held.history.clear();
    held.history.append(update.payload, ts);
    held.epoch = epoch;
    held.seq = seq;
    held.ts = ts;
    held.version = version;
    held.snapshot = undefined;
    held.tick = undefined;
    return event;
  }

  /** The topic's current state as a snapshot event, with its position. */
  snapshot(topic: string): PositionedEvent | undefined {
    const held = this.topics.get(topic);
    if (!held) return undefined;
    // No ts on the event: a snapshot's age is how long the topic has been quiet, not a delivery delay to sample as latency.
    held.snapshot ??= outbound(eventText(SNAPSHOT_PREFIX, newestOf(topic, held)), topic);
    return { epoch: held.epoch, seq: held.seq, event: held.snapshot };
  }

  /**
   * The topic's newest tick event when it came after `since` (a clock value): what a conflating
   * client that was sent everything up to `since` lacks of it; undefined when nothing newer came.
   */
  changedSince(topic: string, since: number): TopicEvent | undefined {
    const held = this.topics.get(topic);
    if (held === undefined || held.version <= since) return undefined;
    held.tick ??= outbound(tickEventText(newestOf(topic, held)), topic, held.ts);
    return { topic, epoch: held.epoch, seq: held.seq, event: held.tick };
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
        const events = held.history.from(seq + 1 - oldest).map(({ record, ts }, i) => {
          const update = { topic, epoch, seq: seq + 1 + i, ts, payload: record };
          return { epoch, seq: update.seq, event: outbound(tickEventText(update), topic, ts) };
        });
        return { kind: 'events', events };
      }
      return { kind: 'not_retained' };
    }
    return { kind: 'snapshot', event: this.snapshot(topic)! };
  }

  /** The held topics starting with `prefix`, in order. */
  topicsWithPrefix(prefix: string): string[] {
    return this.names.withPrefix(prefix);
  }

  has(topic: string): boolean {
    return this.topics.has(topic);
  }

  /** Drops topics no client can want any more, keeping memory bounded by interest. */
  retain(wanted: (topic: string) => boolean): void {
    for (const topic of this.topics.keys()) if (!wanted(topic)) this.topics.delete(topic);
    this.names.retain(wanted);
  }
}

/** The topic's newest record as an update. */
function newestOf(topic: string, held: TopicEvents): CachedUpdate {
  return { topic, epoch: held.epoch, seq: held.seq, ts: held.ts, payload: held.history.newest()!.record };
}
