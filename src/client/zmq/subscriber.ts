import type { CurveClientKeys } from '../../curve/index.js';
import {
  advances, isNewer, nowMicros, sequence, SnapshotErrorCode, type DecodedBook, type DecodedMessage, type RejectReason, type StatusRecord, type TickRecord, type WireError,
} from '../../wire/index.js';
import { BookShelf, type BookResync, type BookView } from '../books.js';
import { BoundedQueue } from '../queue.js';
import { SnapshotClient, SnapshotError, SnapshotUnavailable } from './snapshot-client.js';
import { LineSet, type LineStatus } from './lines.js';
import { DEFAULT_RECEIVE_HWM } from './stream.js';
import { addCounts } from '../../util/counts.js';

export interface TickSubscriberOptions {
  /** The proxy backend (XPUB), or one per line of a redundant fabric (A/B), arbitrated by (epoch, seq). */
  readonly endpoint: string | readonly string[];
  /** With several lines: how long a seq jump waits for another line to fill it before it is repaired as a gap (lines.ts DEFAULT_ARBITRATION_MS). */
  readonly arbitrationMs?: number;
  /** Told when a line comes up or goes down. */
  readonly onLineChange?: (endpoint: string, up: boolean) => void;
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
  /**
   * How often the subscriber considers checking its whole state against a fresh snapshot
   * (default 1000). A message ZeroMQ dropped shows up as a gap when a later message of its
   * topic arrives; one that was the last of its topic before the topic (or the whole stream)
   * went quiet never does, and only a snapshot shows it. So the subscriber checks when gaps
   * were seen since the last check, and when the stream has gone quiet after traffic; a quiet
   * check that finds nothing doubles the quiet time the next one waits for (up to 64 periods),
   * until a gap or a late message (a sign of falling behind) brings it back to one period.
   */
  readonly verifyDelayMs?: number;
  /** Told about each book dropped (counted, `bookResyncs`), whose topic is then taken afresh from a snapshot. */
  readonly onBookResync?: (resync: BookResync) => void;
  /** Told about each live message that fails to decode; it is counted (`rejected`) and skipped. */
  readonly onReject?: (err: WireError, frames: readonly Buffer[]) => void;
  /** With CurveZMQ on the fabric (PROTOCOL.md section 7): the server's public key and this client's key pair. */
  readonly curve?: CurveClientKeys | undefined;
}

/** The live stream as the subscriber uses it: the lines (a LineSet), or a stand-in in tests. */
export interface LiveSource {
  /** Hands each message over as it arrives; resolves when the source is closed, rejects when it fails. */
  forEach(handle: (message: DecodedMessage) => void): Promise<void>;
  /** Messages that failed to decode, by reason. */
  readonly rejected: ReadonlyMap<RejectReason, number>;
  /** Each line's state; a stand-in may have none. */
  lines?(): LineStatus[];
  holes?(): { readonly filled: number; readonly expired: number };
  close(): void;
}

/** The snapshot services as the subscriber uses them: a SnapshotClient, or a stand-in in tests. */
export interface SnapshotSource {
  snapshot(prefix: string): Promise<DecodedMessage[]>;
  replay(topic: string, epoch: number, fromSeq: number): Promise<DecodedMessage[]>;
  /** Services that did not answer and were skipped for the next. */
  readonly failovers: number;
  /** Replies that broke the contract, by reason. */
  readonly rejected: ReadonlyMap<RejectReason, number>;
  close(): void;
}

export interface SubscriberSources {
  readonly live: LiveSource;
  readonly snapshots: SnapshotSource;
}

/** The real sources: a SUB on each proxy backend (line) and a DEALER on the snapshot services. */
export function connectSources(options: TickSubscriberOptions): SubscriberSources {
  const { endpoint, prefix, receiveHwm, arbitrationMs, onReject, onLineChange, curve } = options;
  return {
    live: new LineSet({
      endpoints: typeof endpoint === 'string' ? [endpoint] : endpoint, prefixes: [prefix], receiveHwm, arbitrationMs, onReject, onLineChange, curve,
    }),
    snapshots: new SnapshotClient({ endpoints: options.snapshotEndpoints, timeoutMs: options.snapshotTimeoutMs ?? 2000, curve }),
  };
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
  /** The payload frame as received, for relays that pass the record on without re-encoding it. */
  readonly payload: Buffer;
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
  /** Messages of another epoch that are older (header ts) than the held state: leftovers of a previous run, dropped (wire/order.ts `older`). */
  stale: number;
  /** Gaps left unfilled because no snapshot service answered: the newer message, a full record, was taken as the state. */
  gapsSkipped: number;
  /** Snapshots taken after gaps or when the stream went quiet, to find messages lost without a trace. */
  verifications: number;
  /** Topics such a snapshot showed to be behind, taken from it. */
  verifyRepairs: number;
  /**
   * Live messages dropped because `receiveHwm` of them were already held behind a snapshot or a
   * repair in flight (or a reader that was behind): each is a gap, repaired like any other.
   */
  heldOverruns: number;
  /**
   * Books dropped (book.ts BookShelf): a record after which the book's checksum did not match, or
   * an update with no book; each topic is then taken afresh from a snapshot.
   */
  bookResyncs: number;
}

/**
 * Waits before asking the snapshot service again for what it cannot give yet (an initial
 * snapshot that does not yet hold the first live message, a snapshot or a REPLAY answered
 * UNAVAILABLE): it is a subscriber too, and under load it can lag this client by hundreds of
 * milliseconds. Bounded, about a second in all: after the last one the client goes on without
 * it (for a REPLAY: the topic is taken from a snapshot, a seq jump its readers see). While a
 * REPLAY waits, the live loop waits too, and ZeroMQ's bounded queue holds what arrives.
 */
export const CATCH_UP_DELAYS_MS: readonly number[] = [5, 10, 20, 40, 80, 160, 250, 250, 250];
const DEFAULT_VERIFY_DELAY_MS = 1000;
/** Quiet checks that find nothing back off to at most this many verifyDelayMs periods of quiet. */
const MAX_QUIET_PERIODS = 64;
/**
 * A live message older than this on arrival (by its header ts, the source's clock) shows the
 * subscriber has been behind, and so may have lost messages. Clocks of different hosts that
 * are further apart only keep the quiet checks from backing off, which costs little.
 */
const LATE_US = 50_000;
/** Held messages taken per turn of the event loop once the work they waited for is done. */
const RELEASE_SLICE = 1000;
/**
 * A dropped book whose snapshot did not rebuild it (the service had none, or not yet) is asked for
 * again on its topic's next record, but at most this often: a SNAPSHOT per record would load the
 * service for nothing while it cannot give one.
 */
const BOOK_RENEW_INTERVAL_MS = 1000;

/** A reader of applied updates: an async iterator's queue, or a forEach handler. */
interface Consumer {
  /** Takes an update; a promise when the reader is behind and the subscriber should wait for it. */
  push(update: Update): Promise<void> | undefined;
  end(): void;
  fail(err: Error): void;
}

/**
 * The late-joiner client of PROTOCOL.md section 4 (the ZeroMQ guide's clone pattern):
 * subscribe, snapshot, then apply live messages by the seq rules, repairing gaps with REPLAY
 * and falling back to a fresh snapshot when history is gone. Its state equals the source's:
 * nothing lost, nothing applied twice.
 *
 * Live messages are handled synchronously as they arrive (no promise per message: this is the
 * gateway's hot path). While a snapshot, a repair or a slow reader is awaited they are held, in
 * order, at most `receiveHwm` of them: whatever comes beyond that is dropped and counted
 * (heldOverruns), shows up as a gap and is repaired, or, when nothing of that topic followed,
 * is found by checking the state against a snapshot (see verifyDelayMs).
 */
export class TickSubscriber implements AsyncIterable<Update> {
  readonly counters: SubscriberCounters = {
    applied: 0, duplicates: 0, gapsDetected: 0, gapsRepaired: 0, resnapshots: 0, resets: 0,
    stale: 0, gapsSkipped: 0, verifications: 0, verifyRepairs: 0, heldOverruns: 0, bookResyncs: 0,
  };
  /** Resolves once the initial snapshot is applied; rejects if no snapshot could be had. */
  readonly ready: Promise<void>;
  private readonly state = new Map<string, TopicEntry>();
  private readonly books = new BookShelf();
  /** Dropped books' topics to take afresh from a snapshot once nothing else is awaited. */
  private readonly booksToRenew = new Set<string>();
  /** A dropped book's topic, once asked for, is not asked for again before this time (performance.now()). */
  private readonly bookRenewedAt = new Map<string, number>();
  private readonly stream: LiveSource;
  private readonly snapshots: SnapshotSource;
  private readonly consumers = new Set<Consumer>();
  private readonly running: Promise<void>;
  /** close() was called. */
  private closed = false;
  /** Nothing more is taken: closed, failed, or the live stream ended. */
  private stopped = false;
  /** Live messages wait in `held` while this is set: a snapshot, a repair or a slow reader is awaited. */
  private busy = true;
  private held: (DecodedMessage | undefined)[] = [];
  private heldHead = 0;
  private readonly heldLimit: number;
  /** The work live messages wait for, awaited by close(). */
  private working: Promise<void> = Promise.resolve();
  /** What that work failed with: the subscriber ends with it. */
  private failure: Error | undefined;
  /** Told of the first live message, which proves the subscription reached the proxy. */
  private firstArrived: (() => void) | undefined;
  /** Decides every verifyDelayMs, from the initial snapshot on, whether to check against a snapshot. */
  private lossWatch: NodeJS.Timeout | undefined;
  private verifyRequested: 'gap' | 'quiet' | undefined;
  private gapSinceVerify = false;
  private liveSinceVerify = 0;
  /**
   * The last check found the state behind: its snapshot may itself have been taken before the
   * end of what was lost, so another check follows once quiet even if no live message came since.
   */
  private recheck = false;
  private liveSinceLossCheck = 0;
  private quietPeriods = 0;
  private quietPeriodsNeeded = 1;
  /** Until then gaps are not repaired: the last repair found no snapshot service answering. */
  private repairsPausedUntil = 0;

  constructor(
    private readonly options: TickSubscriberOptions,
    sources: SubscriberSources = connectSources(options),
  ) {
    this.stream = sources.live;
    this.snapshots = sources.snapshots;
    this.heldLimit = options.receiveHwm ?? DEFAULT_RECEIVE_HWM;
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

  /** Live messages and snapshot replies that broke the contract, by reason: counted and skipped. */
  get rejected(): Map<RejectReason, number> {
    const total = new Map(this.stream.rejected);
    addCounts(total, this.snapshots.rejected);
    return total;
  }

  /** Each live line: connected or not, and the duplicate copies it brought (dropped). */
  lines(): LineStatus[] {
    return this.stream.lines?.() ?? [];
  }

  /** Seq jumps on one line that another filled within the arbitration window, and ones repaired as gaps. */
  holes(): { readonly filled: number; readonly expired: number } {
    return this.stream.holes?.() ?? { filled: 0, expired: 0 };
  }

  get(topic: string): TopicEntry | undefined {
    return this.state.get(topic);
  }

  /**
   * The order book of a `book.` topic (PROTOCOL.md section 8), built from its snapshot record and
   * every later record, each checked against its checksum; undefined when none is held, and while
   * a book that stopped matching waits for a fresh snapshot. The view follows the topic.
   */
  book(topic: string): BookView | undefined {
    return this.books.book(topic);
  }

  entries(): IterableIterator<[string, TopicEntry]> {
    return this.state.entries();
  }

  get size(): number {
    return this.state.size;
  }

  /** Applied updates from the moment of the call, in order per topic. */
  [Symbol.asyncIterator](): AsyncIterator<Update> {
    // A reader `maxPendingUpdates` behind makes the subscriber wait: it stops reading its socket,
    // and ZeroMQ's bounded queue (and later gap repair) takes over.
    const queue: BoundedQueue<Update> = new BoundedQueue({
      limit: this.options.maxPendingUpdates ?? 100_000, whenFull: 'wait', onDetach: () => this.consumers.delete(queue),
    });
    this.consumers.add(queue);
    return queue;
  }

  /**
   * Applied updates from the moment of the call, each handed to `handle` as it is applied: no
   * queue and no promise per update, for a reader that never waits (the gateway's cache).
   * Resolves when the subscriber is closed; rejects when it fails or `handle` throws (which
   * detaches it).
   */
  forEach(handle: (update: Update) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const consumer: Consumer = {
        push: (update) => {
          try {
            handle(update);
          } catch (err) {
            this.consumers.delete(consumer);
            reject(err as Error);
          }
          return undefined;
        },
        end: resolve,
        fail: reject,
      };
      this.consumers.add(consumer);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopped = true;
    clearInterval(this.lossWatch);
    this.stream.close();
    this.snapshots.close();
    // Before waiting for run(): it may be waiting for room in the queue of a reader that stopped reading.
    for (const consumer of this.consumers) consumer.end();
    await this.running;
  }

  private async run(signalReady: () => void): Promise<void> {
    const firstLive = new Promise<void>((resolve) => (this.firstArrived = resolve));
    const reading = this.stream.forEach((message) => this.onMessage(message));
    await Promise.race([firstLive, reading, delay(this.options.subscribeSettleMs ?? 250)]);
    if (this.closed) throw new Error('the subscriber was closed before it had a snapshot');
    // Also when the first message comes only while the snapshot is on its way (a busy process).
    await this.initialSnapshot(() => this.held[0]);
    signalReady();
    this.lossWatch = setInterval(() => this.checkForLoss(), this.options.verifyDelayMs ?? DEFAULT_VERIFY_DELAY_MS).unref();
    this.release();
    try {
      await reading;
    } finally {
      this.stopped = true;
      clearInterval(this.lossWatch);
    }
    // What was in flight when the stream ended (nothing new starts once stopped).
    await this.working;
    if (this.failure !== undefined) throw this.failure;
  }

  /** The live stream's handler: a message goes on at once, or is held while something is awaited. */
  private onMessage(message: DecodedMessage): void {
    if (this.stopped) return;
    this.liveSinceLossCheck++;
    if (!this.busy) return this.onLive(message);
    if (this.held.length - this.heldHead >= this.heldLimit) {
      this.counters.heldOverruns++;
      this.gapSinceVerify = true;
      return;
    }
    this.held.push(message);
    this.firstArrived?.();
    this.firstArrived = undefined;
  }

  /** Holds live messages until `work` is done, then takes them in order; a failure ends the subscriber. */
  private hold(work: () => Promise<void>): void {
    this.busy = true;
    this.working = work().then(() => this.release(), (err: Error) => this.failWith(err));
  }

  /**
   * Takes the held messages in order until one needs waiting for again, a slice per turn of the
   * event loop so a long queue never blocks it; then the check against a snapshot that was
   * requested meanwhile, if any.
   */
  private release(): void {
    this.busy = false;
    if (this.stopped) return;
    // Before the held messages: those of a dropped book wait for its fresh snapshot.
    if (this.booksToRenew.size > 0) return this.hold(() => this.renewBooks());
    for (let budget = RELEASE_SLICE; !this.busy && this.heldHead < this.held.length; budget--) {
      if (budget === 0) {
        this.busy = true;
        setImmediate(() => this.release());
        return;
      }
      const message = this.held[this.heldHead]!;
      this.held[this.heldHead++] = undefined;
      this.onLive(message);
    }
    if (this.busy) return;
    this.held = [];
    this.heldHead = 0;
    const reason = this.verifyRequested;
    if (reason === undefined) return;
    this.verifyRequested = undefined;
    this.hold(() => this.verify(reason));
  }

  private failWith(err: Error): void {
    if (this.stopped) return;
    this.stopped = true;
    this.failure = err;
    // The stream ends, so run() does, with this.
    this.stream.close();
  }

  /**
   * Takes the initial snapshot once it holds `first`, the first live message (when one came).
   * The proxy sends every subscriber the same sequence, so a snapshot that holds `first` also
   * holds, for every topic, everything sent before it, and this client's queue, which starts
   * at `first`, continues every topic without a hole. A snapshot taken from a service that
   * lags this client would instead show a gap on nearly every busy topic.
   */
  private async initialSnapshot(firstLive: () => DecodedMessage | undefined): Promise<void> {
    let records = await this.snapshotOnceAvailable(this.options.prefix);
    try {
      for (let attempt = 0, first = firstLive(); first !== undefined && attempt < CATCH_UP_DELAYS_MS.length && !holds(records, first); attempt++) {
        await delay(CATCH_UP_DELAYS_MS[attempt]!);
        if (this.closed) throw new Error('the subscriber was closed before it had a snapshot');
        // Probe with the one topic; take the whole prefix again once the service has caught up.
        if (holds(await this.snapshots.snapshot(first.topic), first)) records = await this.snapshots.snapshot(this.options.prefix);
      }
    } catch (err) {
      // The snapshot in hand is still a valid start: gaps after it get repaired.
      if (!isTemporary(err) || this.closed) throw err;
    }
    for (const message of records) await this.take(message, 'snapshot');
  }

  /** A snapshot, asked again after a short wait while the service answers UNAVAILABLE (bounded). */
  private async snapshotOnceAvailable(prefix: string): Promise<DecodedMessage[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.snapshots.snapshot(prefix);
      } catch (err) {
        const unavailable = err instanceof SnapshotError && err.code === SnapshotErrorCode.UNAVAILABLE;
        if (!unavailable || attempt >= CATCH_UP_DELAYS_MS.length || this.closed) throw err;
        await delay(CATCH_UP_DELAYS_MS[attempt]!);
      }
    }
  }

  private onLive(message: DecodedMessage): void {
    this.liveSinceVerify++;
    if (this.quietPeriodsNeeded > 1 && nowMicros() - message.header.ts > LATE_US) this.quietPeriodsNeeded = 1;
    switch (sequence(this.state.get(message.topic), message.header)) {
      case 'first':
      case 'next':
        return this.takeLive(message);
      case 'duplicate':
        this.counters.duplicates++;
        return;
      case 'older':
        // A previous run's message still queued behind a snapshot that already holds the new run.
        this.counters.stale++;
        return;
      case 'new_epoch':
        this.counters.resets++;
        return this.takeLive(message);
      case 'gap':
        this.counters.gapsDetected++;
        this.gapSinceVerify = true;
        this.quietPeriodsNeeded = 1;
        return this.hold(() => this.repair(message));
    }
  }

  /** Takes a live message; a reader that is behind, or a book it dropped, holds the next ones until that is done. */
  private takeLive(message: DecodedMessage): void {
    const readerBehind = this.take(message, 'live');
    if (this.booksToRenew.size > 0) this.hold(() => Promise.resolve(readerBehind).then(() => this.renewBooks()));
    else if (readerBehind !== undefined) this.hold(() => readerBehind);
  }

  /**
   * Fills the hole before `message` from REPLAY. The snapshot service may not have caught up
   * with this client yet (a short answer, or UNAVAILABLE when it has not even reached the held
   * seq), so that is asked again after a short wait, a bounded number of times; when the
   * history is gone (or never arrives) the topic is taken afresh from a snapshot. When no
   * service answers at all, the message itself, a full record, becomes the state, and repairs
   * pause for a while rather than stalling every later gap for the timeout too.
   */
  private async repair(message: DecodedMessage): Promise<void> {
    if (performance.now() < this.repairsPausedUntil) return this.skipGap(message);
    try {
      await this.replayOrResnapshot(message);
    } catch (err) {
      if (!isTemporary(err) || this.closed) throw err;
      this.repairsPausedUntil = performance.now() + (this.options.snapshotTimeoutMs ?? 2000);
      await this.skipGap(message);
    }
  }

  private async replayOrResnapshot(message: DecodedMessage): Promise<void> {
    const { topic } = message;
    for (let attempt = 0; attempt <= CATCH_UP_DELAYS_MS.length && !this.closed; attempt++) {
      if (attempt > 0) await delay(CATCH_UP_DELAYS_MS[attempt - 1]!);
      const held = this.state.get(topic)!;
      let replayed: DecodedMessage[];
      try {
        replayed = await this.snapshots.replay(topic, held.epoch, held.seq + 1);
      } catch (err) {
        if (!(err instanceof SnapshotError)) throw err;
        // UNAVAILABLE: the service is behind this client, and catches up; anything else (GONE) will not change.
        if (err.retryable) continue;
        break;
      }
      await this.takeReplayed(replayed, message);
      if (this.state.get(topic)!.seq + 1 === message.header.seq) {
        this.counters.gapsRepaired++;
        return this.take(message, 'live');
      }
    }
    await this.resnapshot(message);
  }

  private async resnapshot(message: DecodedMessage): Promise<void> {
    this.counters.resnapshots++;
    const fresh = (await this.snapshotOnceAvailable(message.topic)).find((m) => m.topic === message.topic);
    const newer = fresh !== undefined && !isNewer(fresh.header, message.header) ? fresh : message;
    await this.take(newer, newer === message ? 'live' : 'snapshot');
  }

  private async skipGap(message: DecodedMessage): Promise<void> {
    this.counters.gapsSkipped++;
    await this.take(message, 'live');
  }

  /** Requests a check against a snapshot when gaps came since the last one, or the stream went quiet after traffic. */
  private checkForLoss(): void {
    this.quietPeriods = this.liveSinceLossCheck === 0 ? this.quietPeriods + 1 : 0;
    this.liveSinceLossCheck = 0;
    if (this.verifyRequested !== undefined) return;
    if (this.gapSinceVerify) this.verifyRequested = 'gap';
    else if ((this.liveSinceVerify > 0 || this.recheck) && this.quietPeriods >= this.quietPeriodsNeeded) this.verifyRequested = 'quiet';
    else return;
    // Else release() starts it once what is in flight is done.
    if (!this.busy) this.release();
  }

  /**
   * Compares the state with a fresh snapshot and takes every record that is newer than what
   * is held: messages ZeroMQ dropped that no later message of their topic revealed, or, while
   * every line is down, everything since. The seqs in between are asked of REPLAY first, so a
   * reader that wants every seq (a gateway's conflate:false clients) still gets them; only what
   * the service no longer retains becomes a jump.
   */
  private async verify(reason: 'gap' | 'quiet'): Promise<void> {
    this.counters.verifications++;
    this.gapSinceVerify = false;
    this.liveSinceVerify = 0;
    let records: DecodedMessage[];
    try {
      records = await this.snapshots.snapshot(this.options.prefix);
    } catch (err) {
      if (this.closed) return;
      if (isTemporary(err)) {
        this.gapSinceVerify = true;
        return;
      }
      // Too many topics for one reply: this subscriber's prefix cannot be checked this way.
      if (err instanceof SnapshotError && err.code === SnapshotErrorCode.TOO_LARGE) return;
      throw err;
    }
    let repaired = 0;
    for (const fresh of records) {
      const held = this.state.get(fresh.topic);
      if (!isNewer(held, fresh.header)) continue;
      repaired++;
      this.counters.verifyRepairs++;
      if (held !== undefined && held.epoch !== fresh.header.epoch) this.counters.resets++;
      else if (held !== undefined && fresh.header.seq > held.seq + 1) await this.replayBefore(fresh);
      if (isNewer(this.state.get(fresh.topic), fresh.header)) await this.take(fresh, 'snapshot');
    }
    this.recheck = repaired > 0;
    if (repaired > 0) this.quietPeriodsNeeded = 1;
    else if (reason === 'quiet') this.quietPeriodsNeeded = Math.min(2 * this.quietPeriodsNeeded, MAX_QUIET_PERIODS);
  }

  /** Takes what REPLAY retains between the held state and `fresh` (same epoch), in order; nothing when it cannot. */
  private async replayBefore(fresh: DecodedMessage): Promise<void> {
    const { topic } = fresh;
    let replayed: DecodedMessage[];
    try {
      replayed = await this.snapshots.replay(topic, fresh.header.epoch, this.state.get(topic)!.seq + 1);
    } catch (err) {
      if (err instanceof SnapshotError || err instanceof SnapshotUnavailable) return;
      throw err;
    }
    await this.takeReplayed(replayed, fresh);
  }

  /** Applies the replayed messages that continue the held state, in order, up to (not including) `until`. */
  private async takeReplayed(replayed: readonly DecodedMessage[], until: DecodedMessage): Promise<void> {
    const { topic } = until;
    for (const missing of replayed) {
      if (missing.header.seq === this.state.get(topic)!.seq + 1 && missing.header.seq < until.header.seq) await this.take(missing, 'replay');
    }
  }

  /**
   * Takes each dropped book's topic afresh from a snapshot of it: a newer record is taken as any
   * (it rebuilds the book when it is a snapshot); one at the held seq rebuilds the book alone, the
   * readers having that seq already; an older one (the service lags this client) is asked again
   * after a short wait, a bounded number of times. A book still not rebuilt stays dropped, its
   * next records apply to nothing, and its topic is asked for again (BOOK_RENEW_INTERVAL_MS).
   */
  private async renewBooks(): Promise<void> {
    const topics = [...this.booksToRenew];
    this.booksToRenew.clear();
    for (const topic of topics) {
      this.bookRenewedAt.set(topic, performance.now());
      try {
        await this.renewBook(topic);
      } catch (err) {
        if (this.closed) return;
        // No snapshot now: the topic's next record asks again.
        if (!(err instanceof SnapshotError || err instanceof SnapshotUnavailable)) throw err;
      }
    }
  }

  private async renewBook(topic: string): Promise<void> {
    for (let attempt = 0; attempt <= CATCH_UP_DELAYS_MS.length && !this.closed; attempt++) {
      if (attempt > 0) await delay(CATCH_UP_DELAYS_MS[attempt - 1]!);
      const fresh = (await this.snapshotOnceAvailable(topic)).find((m) => m.topic === topic);
      if (fresh === undefined) return;
      const held = this.state.get(topic);
      const sequencing = sequence(held, fresh.header);
      if (advances(sequencing)) return void (await this.take(fresh, 'snapshot'));
      if (sequencing === 'duplicate' && fresh.header.seq === held!.seq) {
        // Checked as any record: a snapshot that does not match leaves the book dropped.
        if (fresh.kind === 'book') this.books.apply(topic, fresh.header, fresh.record);
        return;
      }
    }
  }

  /** A book topic's record, applied to its book; one the book cannot take drops it, and its topic is to be taken afresh. */
  private applyToBook(message: DecodedBook): void {
    const { topic, header } = message;
    const wasDropped = this.books.renewing.has(topic);
    const step = this.books.apply(topic, header, message.record);
    if (step.ok) return;
    if (!wasDropped) {
      this.counters.bookResyncs++;
      this.options.onBookResync?.({ topic, epoch: header.epoch, seq: header.seq, reason: step.reason, message: step.message });
    } else if (performance.now() - (this.bookRenewedAt.get(topic) ?? -Infinity) < BOOK_RENEW_INTERVAL_MS) {
      return;
    }
    this.booksToRenew.add(topic);
  }

  /** Applies a message and hands the update to every reader; a promise when one of them is behind. */
  private take(message: DecodedMessage, source: Update['source']): Promise<void> | undefined {
    const { topic, header: { epoch, seq, ts }, record, frames: [, , payload] } = message;
    this.state.set(topic, new HeldEntry(epoch, seq, ts, payload));
    this.counters.applied++;
    if (message.kind === 'book') this.applyToBook(message);
    if (this.consumers.size === 0) return undefined;
    const update: Update = { topic, source, payload, epoch, seq, ts, record };
    let behind: Promise<void>[] | undefined;
    for (const consumer of this.consumers) {
      const wait = consumer.push(update);
      if (wait !== undefined) (behind ??= []).push(wait);
    }
    return behind === undefined ? undefined : Promise.all(behind).then(() => {});
  }
}

/**
 * A topic's state as held: its record kept as the payload bytes, parsed again only when asked
 * for. A parsed record is a dozen small objects that would live until the topic's next message,
 * long enough for the garbage collector to copy and promote them, on every message; the bytes
 * were validated when they arrived.
 */
class HeldEntry implements TopicEntry {
  private parsed: TickRecord | StatusRecord | undefined;

  constructor(
    readonly epoch: number,
    readonly seq: number,
    readonly ts: number,
    private readonly payload: Buffer,
  ) {}

  get record(): TickRecord | StatusRecord {
    return (this.parsed ??= JSON.parse(this.payload.toString('utf8')) as TickRecord | StatusRecord);
  }
}

/** Whether a snapshot reply already reflects `message`: it holds the topic at that message or later. */
function holds(records: readonly DecodedMessage[], message: DecodedMessage): boolean {
  const record = records.find((m) => m.topic === message.topic);
  return record !== undefined && !isNewer(record.header, message.header);
}

/** A failure that passes: no service answered, or one answered UNAVAILABLE. */
function isTemporary(err: unknown): boolean {
  return err instanceof SnapshotUnavailable || (err instanceof SnapshotError && err.retryable);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
