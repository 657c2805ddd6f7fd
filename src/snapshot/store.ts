import { RecordRing } from '../util/record-ring.js';
import { SortedNames } from '../util/sorted-names.js';
import { HEADER_BYTES, encodeHeader, sequence, type DecodedMessage, type Frames, type Stamp } from '../wire/index.js';
import { BOOK_PROBLEMS, DEFAULT_MAX_BOOK_LEVELS, HeldBook, type BookContinuity, type BookProblem } from './held-book.js';

const BOOK_PREFIX = 'book.';

/** One retained message: the frames as received (never re-encoded) and its header fields. */
export interface StoredMessage {
  readonly epoch: number;
  readonly seq: number;
  readonly ts: number;
  readonly frames: Frames;
}

export interface StoreLimits {
  /** Messages of history kept per topic (the newest is always kept as the topic's state). */
  readonly historyPerTopic: number;
  /** Bytes of history over all topics; beyond it every topic keeps an equal, smaller share. */
  readonly historyMaxBytes: number;
  /** Topics held; a message of a new topic beyond it is refused and counted. */
  readonly maxTopics: number;
  /** Levels per side a book topic may hold; beyond it the book is incomplete (DEFAULT_MAX_BOOK_LEVELS when unset). */
  readonly maxBookLevels?: number;
}

export interface StoreEvents {
  /** A book topic turned incomplete: it is left out of SNAPSHOT until a snapshot record of it arrives. */
  onIncompleteBook?(topic: string, problem: BookProblem): void;
}

/** How a message related to the held state (the one ordering rule, wire/order.ts), or that a new topic found no room. */
export type IngestResult = 'applied' | 'duplicate' | 'gap' | 'new_epoch' | 'older' | 'new_topic' | 'topic_limit';

/** What REPLAY can answer for (topic, epoch, fromSeq), following PROTOCOL.md section 4. */
export type ReplayAnswer =
  | { readonly kind: 'ok'; readonly messages: readonly StoredMessage[] }
  | { readonly kind: 'gone'; readonly reason: string }
  /** The client has seen messages this service has not received yet: it is behind, which passes. */
  | { readonly kind: 'unavailable'; readonly reason: string };

/**
 * One topic: its state (epoch, seq, ts of the newest message) and its history, a contiguous
 * run of seqs of the current epoch ending at the state, each message's header and payload as
 * bytes in a RecordRing. A tick thus leaves no object behind to outlive it; the rare readers
 * (SNAPSHOT, REPLAY, persistence) get copies. A book topic's state is its whole book instead
 * (HeldBook): its newest message is only a change to it.
 */
class TopicState {
  epoch: number;
  seq: number;
  ts: number;
  /** The state as frames, made on first demand and kept until the next message. */
  private latestFrames: StoredMessage | undefined;

  constructor(
    readonly topic: string,
    /** The topic frame, one per topic, shared by every message returned. */
    readonly topicFrame: Buffer,
    readonly history: RecordRing,
    state: Stamp,
    /** The book of a `book.` topic; undefined for every other class, whose newest message is the state. */
    readonly book: HeldBook | undefined,
    /** Reloaded from disk: the state, not in the history until live messages continue it. */
    restored?: StoredMessage,
  ) {
    this.epoch = state.epoch;
    this.seq = state.seq;
    this.ts = state.ts;
    this.latestFrames = restored;
  }

  get retained(): number {
    return this.history.size;
  }

  oldestSeq(): number | undefined {
    return this.history.size === 0 ? undefined : this.seq - this.history.size + 1;
  }

  /** Makes `message` the state; the caller appends it to the history. */
  advance({ epoch, seq, ts }: Stamp): void {
    this.epoch = epoch;
    this.seq = seq;
    this.ts = ts;
    this.latestFrames = undefined;
  }

  /** Whether the state can be served: false for a book topic while its book is incomplete. */
  get servable(): boolean {
    return this.book?.complete ?? true;
  }

  /** The state as one message; only while servable. */
  latest(): StoredMessage {
    return (this.latestFrames ??= this.book === undefined ? this.message(this.history.size - 1) : this.bookSnapshot(this.book));
  }

  /**
   * The whole book as one snapshot record at the newest applied seq: encoded here, on the first
   * SNAPSHOT (or save) that wants it, so that live records cost no encoding, and then served from
   * the cache until the next record, as a tick's frames are.
   */
  private bookSnapshot(book: HeldBook): StoredMessage {
    const { epoch, seq, ts } = this;
    return { epoch, seq, ts, frames: [this.topicFrame, encodeHeader({ flags: 0, epoch, seq, ts }), book.snapshotPayload()] };
  }

  /** The `index`-th oldest message of the history, as frames of its own. */
  message(index: number): StoredMessage {
    const { record, ts } = this.history.at(index);
    const seq = this.seq - (this.history.size - 1 - index);
    return { epoch: this.epoch, seq, ts, frames: [this.topicFrame, record.subarray(0, HEADER_BYTES), record.subarray(HEADER_BYTES)] };
  }
}

/**
 * The last-value cache and bounded history of the clone pattern. Each topic's history is a
 * contiguous run of seqs of its current epoch: when this service itself misses messages
 * (its own receive queue overflowed), the run restarts at the message after the hole, so a
 * REPLAY is either complete or answered GONE, never silently short.
 */
export class SnapshotStore {
  private readonly topics = new Map<string, TopicState>();
  /** The same topics in order, for SNAPSHOT's sorted prefix ranges. */
  private readonly names = new SortedNames();
  private historyBytesHeld = 0;
  private historyEntries = 0;
  /** historyPerTopic, lowered while the memory cap does not allow that much for every topic. */
  private perTopicLimit: number;
  readonly counts: Record<IngestResult, number> = { applied: 0, duplicate: 0, gap: 0, new_epoch: 0, older: 0, new_topic: 0, topic_limit: 0 };
  /** Times a book topic turned incomplete, by why. */
  readonly bookProblems = Object.fromEntries(BOOK_PROBLEMS.map((problem) => [problem, 0])) as Record<BookProblem, number>;
  private readonly maxBookLevels: number;

  constructor(
    private readonly limits: StoreLimits,
    private readonly events: StoreEvents = {},
  ) {
    this.perTopicLimit = limits.historyPerTopic;
    this.maxBookLevels = limits.maxBookLevels ?? DEFAULT_MAX_BOOK_LEVELS;
  }

  /** Messages of history each topic currently keeps at most. */
  get historyLimit(): number {
    return this.perTopicLimit;
  }

  get topicCount(): number {
    return this.topics.size;
  }

  get historyBytes(): number {
    return this.historyBytesHeld;
  }

  /** Takes one live message from the proxy; the result says how it related to what was held. */
  ingest(message: DecodedMessage): IngestResult {
    const state = this.topics.get(message.topic);
    const { header } = message;
    if (state === undefined) {
      if (this.topics.size >= this.limits.maxTopics) return this.count('topic_limit');
      const topicFrame = Buffer.from(message.frames[0]);
      const fresh = new TopicState(message.topic, topicFrame, new RecordRing(this.limits.historyPerTopic), header, this.heldBook(message));
      this.add(fresh);
      this.append(fresh, message);
      this.applyBook(fresh, message, 'first');
      return this.count('new_topic');
    }
    const relation = sequence(state, header);
    if (relation === 'duplicate' || relation === 'older') return this.count(relation);
    const result: IngestResult = relation === 'next' ? 'applied' : relation === 'gap' ? 'gap' : 'new_epoch';
    if (result !== 'applied') this.clearHistory(state);
    state.advance(header);
    this.append(state, message);
    this.applyBook(state, message, relation === 'new_epoch' ? 'first' : relation);
    return this.count(result);
  }

  /**
   * Puts a record back as a topic's state without history, e.g. reloaded from disk. A book topic's
   * record rebuilds its book: a snapshot record (what a save writes) gives it whole, an update
   * (a file saved before books were kept whole) leaves it incomplete.
   */
  restore(message: DecodedMessage): void {
    const { topic, header: { epoch, seq, ts }, frames } = message;
    if (this.topics.has(topic) || this.topics.size >= this.limits.maxTopics) return;
    const restored: StoredMessage = { epoch, seq, ts, frames };
    const state = new TopicState(topic, frames[0], new RecordRing(this.limits.historyPerTopic), restored, this.heldBook(message), restored);
    this.add(state);
    this.applyBook(state, message, 'first');
  }

  /** A topic's state as one message; undefined when the topic is not held, or is a book held incomplete. */
  get(topic: string): StoredMessage | undefined {
    const state = this.topics.get(topic);
    return state?.servable ? state.latest() : undefined;
  }

  /** The state of every servable topic starting with `prefix`, sorted by topic. */
  snapshot(prefix: string): StoredMessage[] {
    const messages: StoredMessage[] = [];
    for (const topic of this.topicsWithPrefix(prefix)) {
      const message = this.get(topic);
      if (message !== undefined) messages.push(message);
    }
    return messages;
  }

  /**
   * The topics starting with `prefix`, sorted: a SNAPSHOT's records, to be read with get() (topics
   * are never removed, but a book topic can turn incomplete meanwhile: get() then has no record).
   */
  topicsWithPrefix(prefix: string): string[] {
    return this.names.withPrefix(prefix);
  }

  /**
   * Counts topics starting with `prefix` without building the reply, to refuse TOO_LARGE cheaply:
   * incomplete books included, so an upper bound of the records a SNAPSHOT carries.
   */
  countPrefix(prefix: string): number {
    return this.names.countWithPrefix(prefix);
  }

  /** Whether any book topic starting with `prefix` is held: their records cost an encoding when first asked for. */
  holdsBooksWithPrefix(prefix: string): boolean {
    if (prefix.startsWith(BOOK_PREFIX)) return this.names.countWithPrefix(prefix) > 0;
    return BOOK_PREFIX.startsWith(prefix) && this.names.countWithPrefix(BOOK_PREFIX) > 0;
  }

  /** Whether `topic` is a book topic held incomplete (left out of SNAPSHOT), and why. */
  incompleteBook(topic: string): BookProblem | undefined {
    return this.topics.get(topic)?.book?.incompleteBecause;
  }

  /** Book topics held incomplete now; counted at scrape time, nothing on the ingest path. */
  countIncompleteBooks(): number {
    let count = 0;
    for (const state of this.topics.values()) if (!state.servable) count++;
    return count;
  }

  replay(topic: string, epoch: number, fromSeq: number): ReplayAnswer {
    const state = this.topics.get(topic);
    if (state === undefined) return { kind: 'gone', reason: `unknown topic ${topic}` };
    const latest = state;
    if (epoch !== latest.epoch) return { kind: 'gone', reason: `epoch ${epoch} is not the current epoch ${latest.epoch} of ${topic}` };
    if (fromSeq > latest.seq + 1) {
      return { kind: 'unavailable', reason: `fromSeq ${fromSeq} is beyond the newest seq ${latest.seq} + 1: this service has not caught up yet` };
    }
    if (fromSeq === latest.seq + 1) return { kind: 'ok', messages: [] };
    const oldest = state.oldestSeq();
    if (oldest === undefined || fromSeq < oldest) {
      return { kind: 'gone', reason: `seq ${fromSeq} is older than the retained history (from ${oldest ?? latest.seq + 1})` };
    }
    const messages: StoredMessage[] = [];
    for (let index = fromSeq - oldest; index < state.retained; index++) messages.push(state.message(index));
    return { kind: 'ok', messages };
  }

  /** Every servable topic's state, for persistence: a book topic as its whole book, an incomplete one not at all. */
  latestMessages(): IterableIterator<StoredMessage> {
    return (function* (topics) {
      for (const state of topics.values()) if (state.servable) yield state.latest();
    })(this.topics);
  }

  /** Every topic's newest header ts, without copying its message. */
  *newestTimestamps(): IterableIterator<[topic: string, ts: number]> {
    for (const state of this.topics.values()) yield [state.topic, state.ts];
  }

  private heldBook(message: DecodedMessage): HeldBook | undefined {
    return message.kind === 'book' ? new HeldBook(message.topic, this.maxBookLevels) : undefined;
  }

  private applyBook(state: TopicState, message: DecodedMessage, continuity: BookContinuity): void {
    if (state.book === undefined || message.kind !== 'book') return;
    const problem = state.book.apply(message.record, continuity);
    if (problem === undefined) return;
    this.bookProblems[problem]++;
    this.events.onIncompleteBook?.(state.topic, problem);
  }

  private add(state: TopicState): void {
    this.topics.set(state.topic, state);
    this.names.add(state.topic);
  }

  private append(state: TopicState, message: DecodedMessage): void {
    const [, header, payload] = message.frames;
    const dropped = state.history.append(payload, message.header.ts, header);
    this.historyBytesHeld += state.topicFrame.length + header.length + payload.length;
    this.historyEntries++;
    if (dropped > 0) this.forget(state, dropped);
    if (state.retained > this.perTopicLimit) this.dropOldest(state);
    if (this.historyBytesHeld > this.limits.historyMaxBytes) {
      this.shrinkToFit();
    } else if (this.perTopicLimit < this.limits.historyPerTopic && this.historyBytesHeld < this.limits.historyMaxBytes / 2) {
      this.perTopicLimit = Math.max(this.perTopicLimit, this.fittingLimit());
    }
  }

  /**
   * Lowers the per-topic limit to what fits in 90% of the cap at the current average message
   * size and trims every topic to it. The 10% headroom makes this sweep over all topics
   * happen once per 10% of growth, not on every message. One message per topic (its
   * current state) is the floor: the cap cannot take a topic's state away.
   *
   * With uneven message sizes one sweep may not be enough: the average is skewed by topics
   * of many small messages, and a topic with a few large ones keeps them all. So it sweeps
   * again, with the average of what is left, until the history fits. Each sweep sets the
   * limit below 90% of the previous one (beyond the first), so there are few.
   */
  private shrinkToFit(): void {
    while (this.historyBytesHeld > this.limits.historyMaxBytes && this.perTopicLimit > 1) {
      // Strictly lower every time, so uneven message sizes cannot make sweeps repeat in place.
      this.perTopicLimit = Math.min(this.fittingLimit(), this.perTopicLimit - 1);
      for (const state of this.topics.values()) {
        while (state.retained > this.perTopicLimit) this.dropOldest(state);
      }
    }
  }

  private fittingLimit(): number {
    const averageBytes = this.historyBytesHeld / Math.max(1, this.historyEntries);
    const fits = Math.floor((0.9 * this.limits.historyMaxBytes) / (averageBytes * Math.max(1, this.topics.size)));
    return Math.max(1, Math.min(this.limits.historyPerTopic, fits));
  }

  private dropOldest(state: TopicState): void {
    this.forget(state, state.history.dropOldest());
  }

  /** Accounts for one message of `bytes` (header and payload) that left the topic's history. */
  private forget(state: TopicState, bytes: number): void {
    this.historyBytesHeld -= state.topicFrame.length + bytes;
    this.historyEntries--;
  }

  private clearHistory(state: TopicState): void {
    this.historyBytesHeld -= state.retained * state.topicFrame.length + state.history.bytesHeld;
    this.historyEntries -= state.retained;
    state.history.clear();
  }

  private count(result: IngestResult): IngestResult {
    this.counts[result]++;
    return result;
  }
}
