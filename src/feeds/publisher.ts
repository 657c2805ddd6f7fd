import { randomInt } from 'node:crypto';
import { XPublisher } from 'zeromq';
import type { ZmqSocketOptions } from '../config/index.js';
import type { CurveClientKeys } from '../curve/index.js';
import type { Logger } from '../log/index.js';
import { ThrottledWarning } from '../log/index.js';
import {
  SendQueue, WireError, bookTopic, encodeBookRecord, encodeStatusRecord, encodeTickRecord, encodeTradeRecord, nowMicros, parseTopic,
  statusTopic, tickTopic, tradeTopic, validateBookRecord, validateStatusRecord, validateTickRecord, validateTradeRecord, writeHeader,
  HEADER_BYTES, type InstrumentClass, type BookRecord, type ParsedTopic, type RejectReason, type StatusRecord, type TickRecord,
} from '../wire/index.js';
import { sinkOf, type InstrumentRecords, type RecordSink } from './adapter.js';

export interface PublisherOptions {
  /** The proxy frontends (XSUB) to connect to, one per line: every message goes to each. */
  readonly endpoints: readonly string[];
  readonly sendHwm: number;
  /** Bound on messages waiting for the socket; beyond it ticks are dropped and counted. */
  readonly queueLimit: number;
  /** Linger and ZMTP heartbeats. */
  readonly socket: ZmqSocketOptions;
  /** How long start-up waits for the first downstream subscription before publishing anyway. */
  readonly subscriberWaitMs: number;
  /** CurveZMQ keys for the frontends (PROTOCOL.md section 7); plain without. */
  readonly curve?: CurveClientKeys | undefined;
}

interface TopicState {
  readonly parsed: ParsedTopic;
  readonly topicFrame: Buffer;
  /** The source that published the topic first; PROTOCOL.md: one owning source per topic. */
  readonly owner: string;
  seq: number;
  /**
   * Books only: a record of this book did not go out (refused or dropped), so subscribers miss a
   * change; its updates are refused until a snapshot replaces the book.
   */
  awaitingSnapshot: boolean;
}

/** How each instrument class names its topic, checks its record and writes it. */
interface ClassCodec<R> {
  readonly topic: (venue: string, symbol: string) => string;
  readonly validate: (topic: ParsedTopic, record: R) => unknown;
  readonly encode: (record: R) => Buffer;
}

const CODECS: { readonly [K in InstrumentClass]: ClassCodec<InstrumentRecords[K]> } = {
  tick: { topic: tickTopic, validate: validateTickRecord, encode: encodeTickRecord },
  book: { topic: bookTopic, validate: validateBookRecord, encode: encodeBookRecord },
  trade: { topic: tradeTopic, validate: validateTradeRecord, encode: encodeTradeRecord },
};

/** Why a record did not go out: a wire rule it broke, a topic another source owns, or a full queue. */
export type PublishRefusal = RejectReason | 'owner' | 'dropped';

/**
 * The owning source of every topic its adapters produce: validates each record once at this
 * edge, assigns the run's epoch and a per-topic seq without holes, stamps ts, encodes once.
 *
 * It is an XPUB rather than a PUB so it can see downstream subscriptions arrive: a PUB drops
 * whatever it sends before the proxy's subscriptions reach it (ZeroMQ's slow joiner), which
 * would make seq 1.. of a fresh epoch vanish.
 */
export class TickPublisher {
  /** Random per run, so subscribers can tell that this source restarted. */
  readonly epoch = randomInt(1, 0x1_0000_0000);
  published = 0;
  readonly rejected = new Map<RejectReason | 'owner', number>();
  private readonly topics = new Map<string, TopicState>();
  /** Owner conflicts already logged, as "topic source", so each pair is reported once. */
  private readonly ownerConflicts = new Set<string>();
  private readonly socket: XPublisher;
  private readonly queue: SendQueue;
  private readonly warnings: ThrottledWarning;
  private firstSubscription: Promise<void>;

  constructor(
    private readonly options: PublisherOptions,
    private readonly log: Logger,
  ) {
    this.socket = new XPublisher({ ...options.socket, ...options.curve, sendHighWaterMark: options.sendHwm });
    this.queue = new SendQueue(this.socket, options.queueLimit, (err) =>
      this.warnings.warn('send_failed', { err: err.message }, 'publisher send failed'));
    this.warnings = new ThrottledWarning(log);
    this.firstSubscription = this.watchSubscriptions();
  }

  get dropped(): number {
    return this.queue.dropped;
  }

  /** Connects to the proxies and waits (bounded) until downstream interest has arrived through one of them. */
  async connect(): Promise<void> {
    for (const endpoint of this.options.endpoints) this.socket.connect(endpoint);
    const waited = await Promise.race([
      this.firstSubscription.then(() => true),
      new Promise<false>((resolve) => setTimeout(resolve, this.options.subscriberWaitMs, false).unref()),
    ]);
    this.log.info({ endpoints: this.options.endpoints, epoch: this.epoch, subscribed: waited }, 'publisher connected');
  }

  /** Validates, sequences and queues one tick; false when it was rejected or dropped. */
  publish(record: TickRecord): boolean {
    return this.offer('tick', record, '') === undefined;
  }

  /** A sink publishing every class for `source`, for running an adapter straight against this publisher. */
  sink(source = ''): RecordSink {
    return sinkOf((kind, record) => this.offer(kind, record, source) === undefined);
  }

  /**
   * Publishes one record of class `kind` for `source` (an adapter's name) on its own topic and
   * seq; undefined when it went out, else why not. A topic belongs to the first source that
   * published it; another source is refused. A book snapshot is taken at any time (same epoch,
   * next seq) and replaces the book; an update is taken only after a snapshot went out (below).
   */
  offer<K extends InstrumentClass>(kind: K, record: InstrumentRecords[K], source: string): PublishRefusal | undefined {
    const codec: ClassCodec<InstrumentRecords[K]> = CODECS[kind];
    const topic = codec.topic(String(record.venue), String(record.symbol));
    const known = this.topics.get(topic);
    let state: TopicState;
    try {
      state = known ?? this.newTopicState(topic, source);
      codec.validate(state.parsed, record);
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      if (kind === 'book' && known?.owner === source) known.awaitingSnapshot = true;
      return this.reject(topic, err);
    }
    if (state.owner !== source) return this.refuseForeign(state, source);
    if (kind === 'book') {
      const problem = bookContinuityProblem(state, record as BookRecord);
      if (problem !== undefined) return this.reject(topic, new WireError('record', problem));
    }
    // Created only for a valid record, so garbage from an ingest edge leaves no topics behind.
    if (known === undefined) this.topics.set(topic, state);
    const refusal = this.send(state, codec.encode(record));
    if (kind === 'book') state.awaitingSnapshot = refusal !== undefined;
    return refusal;
  }

  /** Publishes a venue's feed status on `status.<venue>`, with that topic's own seq. */
  publishStatus(status: StatusRecord): boolean {
    const topic = statusTopic(status.venue);
    let state = this.topics.get(topic);
    if (!state) {
      const parsed = parseTopic(topic);
      validateStatusRecord(parsed, status);
      state = { parsed, topicFrame: Buffer.from(topic), owner: '', seq: 0, awaitingSnapshot: false };
      this.topics.set(topic, state);
    }
    return this.send(state, encodeStatusRecord(status)) === undefined;
  }

  private send(state: TopicState, payload: Buffer): 'dropped' | undefined {
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    writeHeader(header, { flags: 0, epoch: this.epoch, seq: state.seq + 1, ts: nowMicros() });
    if (!this.queue.push([state.topicFrame, header, payload])) return 'dropped';
    state.seq++;
    this.published++;
    return undefined;
  }

  private refuseForeign(state: TopicState, source: string): 'owner' {
    this.countRejected('owner');
    const topic = state.topicFrame.toString();
    const pair = `${topic} ${source}`;
    if (!this.ownerConflicts.has(pair)) {
      this.ownerConflicts.add(pair);
      this.log.error({ topic, owner: state.owner, refused: source },
        `two sources claim ${topic}: it belongs to ${JSON.stringify(state.owner)}, so ${JSON.stringify(source)}'s records for it are refused`);
    }
    return 'owner';
  }

  private reject(topic: string, err: WireError): RejectReason {
    this.countRejected(err.reason);
    this.warnings.warn(err.reason, { topic }, `record rejected: ${err.message}`);
    return err.reason;
  }

  private countRejected(reason: RejectReason | 'owner'): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
  }

  async close(): Promise<void> {
    await this.queue.flushed();
    this.socket.close();
  }

  /** A topic's state before its first record; parseTopic throws a WireError for a bad venue or symbol. */
  private newTopicState(topic: string, source: string): TopicState {
    return { parsed: parseTopic(topic), topicFrame: Buffer.from(topic), owner: source, seq: 0, awaitingSnapshot: true };
  }

  private async watchSubscriptions(): Promise<void> {
    try {
      await this.socket.receive();
    } catch {
      // The socket was closed before anyone subscribed; nothing to wait for.
    }
  }
}

/**
 * PROTOCOL.md section 8: a book topic's first record of an epoch is a snapshot, and every later
 * update applies to the book subscribers hold. After a lost record they no longer hold it, so an
 * update waits for the source's next snapshot rather than going out on top of a hole.
 */
function bookContinuityProblem(state: TopicState, record: BookRecord): string | undefined {
  if (record.action === 'snapshot' || !state.awaitingSnapshot) return undefined;
  const topic = state.topicFrame.toString();
  return state.seq === 0
    ? `${topic}: an update before the book's first snapshot (the first record of a book topic is a snapshot)`
    : `${topic}: an update after a lost record of this book; its updates wait for a fresh snapshot`;
}
