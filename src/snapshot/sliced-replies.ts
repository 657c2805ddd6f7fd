import { appendRecord, recordsReplyHead, type Frames } from '../wire/index.js';

/** A SNAPSHOT reply too large for one event-loop turn: the sorted topics whose records it carries. */
export interface SlicedReply {
  readonly topics: readonly string[];
}

/** How a request is answered: its reply frames, or the topics of a reply to build in slices. */
export type Answer = Buffer[] | SlicedReply;

export interface SliceOptions {
  /** Records read and encoded per event-loop turn. */
  readonly recordsPerSlice: number;
  /**
   * Payload bytes per event-loop turn, beyond which a slice ends early: a book's record is encoded
   * when first asked for, at a cost that grows with its size, so a slice of large books is fewer records.
   */
  readonly bytesPerSlice: number;
  /** Requests waiting behind the reply being built, at most; beyond it a request is dropped and counted (the client times out and retries). */
  readonly waitingLimit: number;
}

export interface SliceHooks<Request> {
  /** Answers a request now (the service's handler). */
  answer(request: Request): Answer;
  /**
   * A topic's record as held now; every topic a SlicedReply names is held (topics are never
   * removed), but undefined when its state cannot be served any more (a book that turned
   * incomplete since the reply was answered): the reply then leaves it out.
   */
  record(topic: string): Frames | undefined;
  /** Sends a finished reply to the peer behind `envelope`; `arrived` is when its request came (performance.now()). */
  send(envelope: Buffer[], body: Buffer[], arrived: number): void;
  /** A bug while answering between turns: that reply is dropped (counted), the others go on. */
  failed(err: Error): void;
}

interface Waiting<Request> {
  readonly peer: string;
  readonly envelope: Buffer[];
  readonly request: Request;
  readonly arrived: number;
  /** Answered already, as a reply to build once the one in progress is done. */
  readonly sliced?: SlicedReply;
}

interface Build {
  readonly peer: string;
  readonly envelope: Buffer[];
  readonly arrived: number;
  readonly topics: readonly string[];
  /** The records built so far, 3 frames each; the `OK, count` head goes before them once the count is known. */
  readonly records: Buffer[];
  next: number;
}

/**
 * Answers requests so that a large SNAPSHOT never holds up other peers for more than a slice:
 * its reply is built recordsPerSlice records per event-loop turn, other peers' requests (and
 * the live ticks) are handled between two slices, and what is left of the pause is the one
 * native send of the finished reply (zeromq.js has no partial send of a multipart message).
 *
 * Replies to one peer keep the order of its requests (a DEALER may pipeline them): while a
 * peer has a reply being built or waiting, its next requests wait behind it and are answered
 * when their turn comes. Replies are built one at a time, so at most one partial reply is held.
 */
export class SlicedReplies<Request> {
  /** Requests dropped because waitingLimit requests were waiting already. */
  dropped = 0;
  private readonly waiting: Waiting<Request>[] = [];
  /** Per peer, its requests waiting or being built. */
  private readonly queuedPerPeer = new Map<string, number>();
  private building: Build | undefined;
  private scheduled = false;
  private readonly runSlice = (): void => this.slice();

  constructor(
    private readonly options: SliceOptions,
    private readonly hooks: SliceHooks<Request>,
  ) {}

  /** Requests waiting or being built. */
  get backlog(): number {
    return this.waiting.length + (this.building === undefined ? 0 : 1);
  }

  /** Takes one request of `peer` (its routing id, as a string); answers it now unless it must wait. */
  submit(peer: string, envelope: Buffer[], request: Request, arrived: number): void {
    const item = { peer, envelope, request, arrived };
    if (this.queuedPerPeer.has(peer)) this.wait(item);
    else this.take(item);
  }

  /** Answers a request whose turn it is: sent now, or a reply to build (after the one in progress, if any). */
  private take(item: Waiting<Request>): void {
    const answer = item.sliced ?? this.hooks.answer(item.request);
    if (Array.isArray(answer)) {
      this.hooks.send(item.envelope, answer, item.arrived);
    } else if (this.building !== undefined) {
      this.wait({ ...item, sliced: answer });
    } else {
      this.building = { ...item, topics: answer.topics, records: [], next: 0 };
      this.queue(item.peer);
      this.schedule();
    }
  }

  private wait(item: Waiting<Request>): void {
    if (this.waiting.length >= this.options.waitingLimit) {
      this.dropped++;
      return;
    }
    this.waiting.push(item);
    this.queue(item.peer);
  }

  /**
   * Answers everything taken so far at once, every reply built whole: when the service stops,
   * so that each request it received still gets its reply before the socket closes.
   */
  finish(): void {
    while (this.backlog > 0) this.step(Infinity, Infinity);
  }

  private slice(): void {
    this.scheduled = false;
    this.step(this.options.recordsPerSlice, this.options.bytesPerSlice);
  }

  /**
   * Builds up to `records` more records of the reply in progress, fewer once they hold `bytes` of
   * payload; a finished one is sent and the waiting requests take their turn.
   */
  private step(records: number, bytes: number): void {
    const build = this.building;
    try {
      if (build !== undefined) {
        const end = Math.min(build.topics.length, build.next + records);
        let built = 0;
        while (build.next < end && built < bytes) {
          const record = this.hooks.record(build.topics[build.next++]!);
          if (record === undefined) continue;
          appendRecord(build.records, record);
          built += record[2].length;
        }
        if (build.next < build.topics.length) {
          this.schedule();
          return;
        }
        this.building = undefined;
        this.unqueue(build.peer);
        this.hooks.send(build.envelope, recordsReplyHead(build.records.length / 3).concat(build.records), build.arrived);
      }
      // Waiting requests now take their turn, in arrival order, until one needs building again.
      while (this.building === undefined && this.waiting.length > 0) {
        const item = this.waiting.shift()!;
        this.unqueue(item.peer);
        this.take(item);
      }
    } catch (err) {
      // Outside the service's receive loop nothing else would catch it: drop the reply in progress, go on with the rest.
      if (this.building !== undefined) {
        this.unqueue(this.building.peer);
        this.building = undefined;
      }
      this.dropped++;
      this.hooks.failed(err as Error);
      if (this.waiting.length > 0) this.schedule();
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.runSlice);
  }

  private queue(peer: string): void {
    this.queuedPerPeer.set(peer, (this.queuedPerPeer.get(peer) ?? 0) + 1);
  }

  private unqueue(peer: string): void {
    const left = this.queuedPerPeer.get(peer)! - 1;
    if (left === 0) this.queuedPerPeer.delete(peer);
    else this.queuedPerPeer.set(peer, left);
  }
}
