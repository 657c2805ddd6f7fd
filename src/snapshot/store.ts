import { HEADER_BYTES, sequence, type DecodedMessage, type Frames } from '../wire/index.js';

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
}

/** How a message related to the held state (the one ordering rule, wire/order.ts), or that a new topic found no room. */
export type IngestResult = 'applied' | 'duplicate' | 'gap' | 'new_epoch' | 'older' | 'new_topic' | 'topic_limit';

/** What REPLAY can answer for (topic, epoch, fromSeq), following PROTOCOL.md section 4. */
export type ReplayAnswer =
  | { readonly kind: 'ok'; readonly messages: readonly StoredMessage[] }
  | { readonly kind: 'gone'; readonly reason: string }
  /** The client has seen messages this service has not received yet: it is behind, which passes. */
  | { readonly kind: 'unavailable'; readonly reason: string };

class TopicState {
  /** Contiguous run of the current epoch, oldest first; `start` skips evicted entries. */
  history: StoredMessage[] = [];
  start = 0;
  constructor(
    readonly topic: string,
    public latest: StoredMessage,
  ) {}

  get retained(): number {
    return this.history.length - this.start;
  }

  oldestSeq(): number | undefined {
    return this.history[this.start]?.seq;
  }

  /** Drops the oldest retained entry; compacts now and then so evicted slots do not pile up. */
  dropOldest(): StoredMessage | undefined {
    const dropped = this.history[this.start];
    if (dropped === undefined) return undefined;
    this.start++;
    if (this.start > 64 && this.start * 2 > this.history.length) {
      this.history = this.history.slice(this.start);
      this.start = 0;
    }
    return dropped;
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
  private historyBytesHeld = 0;
  private historyEntries = 0;
  /** historyPerTopic, lowered while the memory cap does not allow that much for every topic. */
  private perTopicLimit: number;
  readonly counts: Record<IngestResult, number> = { applied: 0, duplicate: 0, gap: 0, new_epoch: 0, older: 0, new_topic: 0, topic_limit: 0 };

  constructor(private readonly limits: StoreLimits) {
    this.perTopicLimit = limits.historyPerTopic;
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
    const { epoch, seq, ts } = message.header;
    const stored: StoredMessage = { epoch, seq, ts, frames: compact(message.frames, state?.latest.frames[0]) };
    const relation = sequence(state?.latest, stored);
    if (state === undefined) {
      if (this.topics.size >= this.limits.maxTopics) return this.count('topic_limit');
      const fresh = new TopicState(message.topic, stored);
      this.topics.set(message.topic, fresh);
      this.append(fresh, stored);
      return this.count('new_topic');
    }
    if (relation === 'duplicate' || relation === 'older') return this.count(relation);
    const result: IngestResult = relation === 'next' ? 'applied' : relation === 'gap' ? 'gap' : 'new_epoch';
    if (result !== 'applied') this.clearHistory(state);
    state.latest = stored;
    this.append(state, stored);
    return this.count(result);
  }

  /** Puts a record back as a topic's state without history, e.g. reloaded from disk. */
  restore(topic: string, message: StoredMessage): void {
    if (this.topics.has(topic) || this.topics.size >= this.limits.maxTopics) return;
    this.topics.set(topic, new TopicState(topic, message));
  }

  get(topic: string): StoredMessage | undefined {
    return this.topics.get(topic)?.latest;
  }

  /** The newest message of every topic starting with `prefix`, sorted by topic. */
  snapshot(prefix: string): StoredMessage[] {
    const matching: TopicState[] = [];
    for (const state of this.topics.values()) {
      if (state.topic.startsWith(prefix)) matching.push(state);
    }
    matching.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
    return matching.map((state) => state.latest);
  }

  /** Counts topics starting with `prefix` without building the reply, to refuse TOO_LARGE cheaply. */
  countPrefix(prefix: string): number {
    if (prefix === '') return this.topics.size;
    let count = 0;
    for (const topic of this.topics.keys()) if (topic.startsWith(prefix)) count++;
    return count;
  }

  replay(topic: string, epoch: number, fromSeq: number): ReplayAnswer {
    const state = this.topics.get(topic);
    if (state === undefined) return { kind: 'gone', reason: `unknown topic ${topic}` };
    const { latest } = state;
    if (epoch !== latest.epoch) return { kind: 'gone', reason: `epoch ${epoch} is not the current epoch ${latest.epoch} of ${topic}` };
    if (fromSeq > latest.seq + 1) {
      return { kind: 'unavailable', reason: `fromSeq ${fromSeq} is beyond the newest seq ${latest.seq} + 1: this service has not caught up yet` };
    }
    if (fromSeq === latest.seq + 1) return { kind: 'ok', messages: [] };
    const oldest = state.oldestSeq();
    if (oldest === undefined || fromSeq < oldest) {
      return { kind: 'gone', reason: `seq ${fromSeq} is older than the retained history (from ${oldest ?? latest.seq + 1})` };
    }
    const from = state.start + (fromSeq - oldest);
    return { kind: 'ok', messages: state.history.slice(from) };
  }

  /** Every topic's newest message, for persistence. */
  latestMessages(): IterableIterator<StoredMessage> {
    return (function* (topics) {
      for (const state of topics.values()) yield state.latest;
    })(this.topics);
  }

  private append(state: TopicState, message: StoredMessage): void {
    state.history.push(message);
    this.historyBytesHeld += sizeOf(message);
    this.historyEntries++;
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
    this.historyBytesHeld -= sizeOf(state.dropOldest()!);
    this.historyEntries--;
  }

  private clearHistory(state: TopicState): void {
    for (let i = state.start; i < state.history.length; i++) this.historyBytesHeld -= sizeOf(state.history[i]!);
    this.historyEntries -= state.retained;
    state.history = [];
    state.start = 0;
  }

  private count(result: IngestResult): IngestResult {
    this.counts[result]++;
    return result;
  }
}

/**
 * A copy of the frames that holds only their bytes. A frame received from zeromq.js keeps
 * a much larger native allocation alive (about 4 KB per message was measured), which for
 * thousands of retained messages per topic is most of the process's memory. Header and
 * payload share one small pooled slice; the topic frame is shared by the whole topic.
 */
function compact(frames: Frames, topicFrame: Buffer | undefined): Frames {
  const [topic, header, payload] = frames;
  // A slice of Node's shared pool, not an allocation of its own (allocUnsafeSlow), unlike the
  // gateway's history: retained messages are small and arrive in order, so a pool block is
  // densely held by history, and an own allocation per message measured about 40% more service
  // CPU and 13 MB more RSS at 20,000 ticks/s over 10,000 topics (bench:snapshot --quick). The
  // price: a quiet topic whose history went can keep one 8 KiB block alive (maxTopics x 8 KiB at worst).
  const body = Buffer.allocUnsafe(header.length + payload.length);
  header.copy(body, 0);
  payload.copy(body, header.length);
  return [topicFrame ?? Buffer.from(topic), body.subarray(0, header.length), body.subarray(header.length)];
}

function sizeOf(message: StoredMessage): number {
  const [topic, , payload] = message.frames;
  return topic.length + HEADER_BYTES + payload.length;
}
