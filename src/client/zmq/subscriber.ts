import type { DecodedMessage, TickRecord, StatusRecord } from '../../wire/index.js';
import { SnapshotClient, SnapshotError } from './snapshot-client.js';
import { TickStream } from './stream.js';

export interface TickSubscriberOptions {
  /** The proxy backend (XPUB). */
  readonly endpoint: string;
  /** Topic prefix to follow; '' for everything. */
  readonly prefix: string;
  /** Snapshot services in failover order. */
  readonly snapshotEndpoints: readonly string[];
  readonly snapshotTimeoutMs?: number;
  readonly receiveHwm?: number;
  /**
   * How long to wait for the first live message before taking the snapshot. A message proves
   * the subscription has reached the proxy; after this long the source is taken to be quiet.
   */
  readonly subscribeSettleMs?: number;
  /** Updates the async iterator may hold for a slow reader before the subscriber waits for it. */
  readonly maxPendingUpdates?: number;
}

/** One topic's state: its newest record and where it stands in its source's sequence. */
export interface TopicEntry {
  readonly epoch: number;
  readonly seq: number;
  readonly ts: number;
  readonly record: TickRecord | StatusRecord;
}

/** An applied change: `snapshot` from a snapshot reply, `replay` from repairing a gap, `live` as published. */
export interface Update extends TopicEntry {
  readonly topic: string;
  readonly source: 'snapshot' | 'replay' | 'live';
}

export interface SubscriberCounters {
  applied: number;
  /** Messages already in the state (same epoch, seq not above it), dropped. */
  duplicates: number;
  gapsDetected: number;
  /** Gaps filled from REPLAY with every missing message. */
  gapsRepaired: number;
  /** Gaps REPLAY could not fill (GONE): the topic was taken afresh from a snapshot. */
  resnapshots: number;
  /** Topics whose source restarted (a new epoch). */
  resets: number;
}

const REPAIR_ATTEMPTS = 5;

/**
 * The late-joiner client of PROTOCOL.md section 4 (the ZeroMQ guide's clone pattern):
 * subscribe, snapshot, then apply live messages by the seq rules, repairing gaps with REPLAY
 * and falling back to a fresh snapshot when history is gone. Its state equals the source's:
 * nothing lost, nothing applied twice.
 *
 * Live messages wait in the SUB socket's own queue while a snapshot or a repair is in
 * flight: memory stays bounded by the receive high-water mark, and whatever ZeroMQ drops
 * beyond it shows up as a gap and is repaired.
 */
export class TickSubscriber implements AsyncIterable<Update> {
  readonly counters: SubscriberCounters = { applied: 0, duplicates: 0, gapsDetected: 0, gapsRepaired: 0, resnapshots: 0, resets: 0 };
  /** Resolves once the initial snapshot is applied; rejects if no snapshot could be had. */
  readonly ready: Promise<void>;
  private readonly state = new Map<string, TopicEntry>();
  private readonly stream: TickStream;
  private readonly snapshots: SnapshotClient;
  private readonly consumers = new Set<UpdateQueue>();
  private readonly running: Promise<void>;
  private closed = false;

  constructor(private readonly options: TickSubscriberOptions) {
    this.stream = new TickStream({ endpoint: options.endpoint, prefixes: [options.prefix], receiveHwm: options.receiveHwm });
    this.snapshots = new SnapshotClient({ endpoints: options.snapshotEndpoints, timeoutMs: options.snapshotTimeoutMs ?? 2000 });
    let signalReady!: () => void;
    let failReady!: (err: Error) => void;
    this.ready = new Promise((resolve, reject) => {
      signalReady = resolve;
      failReady = reject;
    });
    this.ready.catch(() => {});
    this.running = this.run(signalReady).catch((err: Error) => {
      failReady(err);
      if (!this.closed) for (const consumer of this.consumers) consumer.fail(err);
    });
  }

  /** Snapshot services that did not answer and were skipped for the next. */
  get failovers(): number {
    return this.snapshots.failovers;
  }

  get(topic: string): TopicEntry | undefined {
    return this.state.get(topic);
  }

  entries(): IterableIterator<[string, TopicEntry]> {
    return this.state.entries();
  }

  get size(): number {
    return this.state.size;
  }

  /** Applied updates from the moment of the call, in order per topic. */
  [Symbol.asyncIterator](): AsyncIterator<Update> {
    const queue = new UpdateQueue(this.options.maxPendingUpdates ?? 100_000, () => this.consumers.delete(queue));
    this.consumers.add(queue);
    return queue;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stream.close();
    this.snapshots.close();
    await this.running;
    for (const consumer of this.consumers) consumer.end();
  }

  private async run(signalReady: () => void): Promise<void> {
    const live = this.stream[Symbol.asyncIterator]();
    const first = live.next();
    await Promise.race([first, delay(this.options.subscribeSettleMs ?? 250)]);
    if (this.closed) return;
    for (const message of await this.snapshots.snapshot(this.options.prefix)) await this.take(message, 'snapshot');
    signalReady();
    for (let next = await first; !next.done && !this.closed; next = await live.next()) await this.onLive(next.value);
  }

  private async onLive(message: DecodedMessage): Promise<void> {
    const held = this.state.get(message.topic);
    const { epoch, seq } = message.header;
    if (held === undefined) return this.take(message, 'live');
    if (epoch !== held.epoch) {
      this.counters.resets++;
      return this.take(message, 'live');
    }
    if (seq <= held.seq) {
      this.counters.duplicates++;
      return;
    }
    if (seq === held.seq + 1) return this.take(message, 'live');
    this.counters.gapsDetected++;
    await this.repair(message);
  }

  /**
   * Fills the hole before `message` from REPLAY. The snapshot service may not have caught up
   * with this client yet, so a short answer is retried a few times; when the history is gone
   * (or never arrives) the topic is taken afresh from a snapshot.
   */
  private async repair(message: DecodedMessage): Promise<void> {
    const { topic } = message;
    for (let attempt = 0; attempt < REPAIR_ATTEMPTS && !this.closed; attempt++) {
      const held = this.state.get(topic)!;
      let replayed: DecodedMessage[];
      try {
        replayed = await this.snapshots.replay(topic, held.epoch, held.seq + 1);
      } catch (err) {
        if (err instanceof SnapshotError && err.code === 'GONE') break;
        throw err;
      }
      for (const missing of replayed) {
        if (missing.header.seq === this.state.get(topic)!.seq + 1 && missing.header.seq < message.header.seq) await this.take(missing, 'replay');
      }
      if (this.state.get(topic)!.seq + 1 === message.header.seq) {
        this.counters.gapsRepaired++;
        return this.take(message, 'live');
      }
      await new Promise((resolve) => setTimeout(resolve, 5 * (attempt + 1)));
    }
    await this.resnapshot(message);
  }

  private async resnapshot(message: DecodedMessage): Promise<void> {
    this.counters.resnapshots++;
    const fresh = (await this.snapshots.snapshot(message.topic)).find((m) => m.topic === message.topic);
    const newer = fresh && fresh.header.epoch === message.header.epoch && fresh.header.seq >= message.header.seq ? fresh : message;
    await this.take(newer, newer === message ? 'live' : 'snapshot');
  }

  private async take(message: DecodedMessage, source: Update['source']): Promise<void> {
    const { topic, header, record } = message;
    const entry: TopicEntry = { epoch: header.epoch, seq: header.seq, ts: header.ts, record };
    this.state.set(topic, entry);
    this.counters.applied++;
    if (this.consumers.size === 0) return;
    const update: Update = { topic, source, ...entry };
    for (const consumer of this.consumers) await consumer.push(update);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * The buffer between the subscriber and one async-iterator reader. When the reader falls
 * `limit` updates behind, push() waits for it: the subscriber stops reading its socket, and
 * ZeroMQ's bounded queue (and later gap repair) takes over.
 */
class UpdateQueue implements AsyncIterator<Update> {
  private readonly items: Update[] = [];
  private head = 0;
  private reader: { resolve: (r: IteratorResult<Update>) => void; reject: (err: Error) => void } | undefined;
  private room: (() => void) | undefined;
  private done = false;
  private failure: Error | undefined;

  constructor(
    private readonly limit: number,
    private readonly onReturn: () => void,
  ) {}

  async push(update: Update): Promise<void> {
    if (this.done) return;
    if (this.reader) {
      const { resolve } = this.reader;
      this.reader = undefined;
      resolve({ value: update, done: false });
      return;
    }
    this.items.push(update);
    if (this.items.length - this.head >= this.limit) await new Promise<void>((resolve) => (this.room = resolve));
  }

  next(): Promise<IteratorResult<Update>> {
    if (this.head < this.items.length) {
      const value = this.items[this.head++]!;
      if (this.head === this.items.length) {
        this.items.length = 0;
        this.head = 0;
      }
      this.room?.();
      this.room = undefined;
      return Promise.resolve({ value, done: false });
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.reader = { resolve, reject }));
  }

  return(): Promise<IteratorResult<Update>> {
    this.end();
    this.onReturn();
    return Promise.resolve({ value: undefined, done: true });
  }

  end(): void {
    this.done = true;
    this.room?.();
    this.reader?.resolve({ value: undefined, done: true });
    this.reader = undefined;
  }

  fail(err: Error): void {
    this.failure = err;
    this.reader?.reject(err);
    this.reader = undefined;
  }
}
