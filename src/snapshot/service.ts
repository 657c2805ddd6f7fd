import { Router } from 'zeromq';
import { FabricSecurity, reopenRetrying } from '../curve/index.js';
import type { Logger } from '../log/index.js';
import { BucketHistogram } from '../metrics/index.js';
import { ThrottledWarning } from '../log/index.js';
import {
  SendQueue, SnapshotCommand, SnapshotErrorCode, SnapshotRequestError, encodeErrorReply, encodePong, encodeRecordsReply, parseSnapshotRequest,
  type Frames, type SnapshotRequest,
} from '../wire/index.js';
import { splitEnvelope } from './envelope.js';
import { SlicedReplies, type Answer } from './sliced-replies.js';
import type { SnapshotStore, StoredMessage } from './store.js';

export interface ServiceOptions {
  /** Where the ROUTER binds. */
  readonly endpoint: string;
  /** Records one reply may carry; a larger SNAPSHOT is refused with TOO_LARGE. */
  readonly maxRecords: number;
  /** Replies waiting for the socket; beyond it a reply is dropped and counted (the client times out and retries). */
  readonly replyQueueLimit: number;
  readonly sendHwm: number;
  readonly lingerMs: number;
  /**
   * Why the held state cannot be vouched for now (no line to the fabric is up), or undefined.
   * SNAPSHOT and REPLAY are then answered UNAVAILABLE, so clients ask the next service rather
   * than take state that silently stopped moving.
   */
  readonly cutOff?: () => string | undefined;
  /** CurveZMQ on the ROUTER, admitting subscribers' keys (PROTOCOL.md section 7); plain without. */
  readonly security?: FabricSecurity;
}

/** How a request was answered, as a metric label: `ok`, or the error code in lower case. */
export type ReplyResult = 'ok' | Lowercase<SnapshotErrorCode>;

const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);
/**
 * Records of a SNAPSHOT reply read and encoded per event-loop turn, about a millisecond's
 * work: a larger reply is built over several turns, other requests answered in between.
 */
const RECORDS_PER_SLICE = 1_000;
/**
 * Payload bytes per turn: a book's snapshot record is encoded on first demand, about 30 ns a byte
 * (a 50-level book, 1.1 KB, in 31 us), so a slice of books ends near this many milliseconds' work.
 */
const BYTES_PER_SLICE = 128 * 1024;
/** Requests that may wait behind a reply being built (they are a few frames each). */
const WAITING_LIMIT = 10_000;

/**
 * The request/reply side of the snapshot service: SNAPSHOT, REPLAY and PING over a ROUTER,
 * answered from the store. Every request gets exactly one reply, so REQ clients work. A
 * SNAPSHOT of more than RECORDS_PER_SLICE topics is built a slice per event-loop turn
 * (SlicedReplies), so neither other clients' requests nor the ingest of live ticks wait for
 * the whole of it.
 */
export class SnapshotService {
  /** Requests answered, by command and result: `SNAPSHOT ok`, `REPLAY gone`, ... */
  readonly requests = new Map<string, number>();
  recordsServed = 0;
  /** Time from a request's arrival to its reply being queued, every command. */
  readonly durations = new BucketHistogram(
    'tickfan_snapshot_request_duration_seconds',
    'Time the snapshot service takes to answer a request (arrival to reply queued), every command.',
    [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  );
  private readonly warnings: ThrottledWarning;
  private readonly security: FabricSecurity;
  /** The bound ROUTER and its reply queue; undefined before start and while rebuilt after a key was revoked (CURVE). */
  private listener: { readonly socket: Router; readonly replies: SendQueue; readonly loop: Promise<void> } | undefined;
  private bound: string | undefined;
  private droppedBefore = 0;
  private closed = false;
  private rebuilt: Promise<void> = Promise.resolve();
  private readonly replies = new SlicedReplies<SnapshotRequest | SnapshotRequestError>(
    { recordsPerSlice: RECORDS_PER_SLICE, bytesPerSlice: BYTES_PER_SLICE, waitingLimit: WAITING_LIMIT },
    {
      answer: (request) => this.handle(request),
      record: (topic) => this.sliceRecord(topic),
      send: (envelope, body, arrived) => this.reply(envelope, body, arrived),
      failed: (err) => this.log.error({ err: err.stack }, 'snapshot request failed'),
    },
  );

  constructor(
    private readonly store: SnapshotStore,
    private readonly options: ServiceOptions,
    private readonly log: Logger,
  ) {
    this.warnings = new ThrottledWarning(log);
    this.security = options.security ?? FabricSecurity.PLAIN;
  }

  get repliesDropped(): number {
    return this.droppedBefore + (this.listener?.replies.dropped ?? 0) + this.replies.dropped;
  }

  /** Bound and answering: false only before start() and while the socket is rebuilt after a revocation. */
  get listening(): boolean {
    return this.listener !== undefined;
  }

  /** Binds and starts answering; resolves with the endpoint actually bound. */
  async start(): Promise<string> {
    this.bound = await this.open(this.options.endpoint);
    this.log.info({ endpoint: this.bound }, 'snapshot service listening');
    return this.bound;
  }

  /** Stops answering and releases the endpoint: once this resolves, it can be bound again. */
  async close(): Promise<void> {
    this.closed = true;
    await this.rebuilt;
    this.replies.finish();
    await this.listener?.replies.flushed();
    await this.release();
  }

  private async open(endpoint: string): Promise<string> {
    // A request is a few short frames; the cap bounds what one peer can make us buffer, and
    // still lets a 1 MB frame arrive so it gets its BAD_REQUEST rather than a silent drop.
    const socket = new Router({ sendHighWaterMark: this.options.sendHwm, linger: this.options.lingerMs, maxMessageSize: MAX_REQUEST_BYTES });
    let bound: string;
    try {
      bound = await this.security.bind(socket, endpoint, { peers: 'subscribers', setting: 'snapshot.endpoint', reopen: () => this.reopen() });
    } catch (err) {
      socket.close();
      throw err;
    }
    const replies = new SendQueue(socket, this.options.replyQueueLimit, (err) =>
      this.warnings.warn('reply_failed', { err: err.message }, 'snapshot reply could not be sent'));
    this.listener = { socket, replies, loop: this.serve(socket) };
    return bound;
  }

  /** Drops every connection (a revoked key may hold one): a new socket on the same endpoint, which allowed clients reconnect to. */
  private reopen(): Promise<void> {
    this.rebuilt = this.rebuilt.then(async () => {
      if (this.closed || this.listener === undefined) return;
      await this.release();
      await reopenRetrying(async () => void await this.open(this.bound!), () => this.closed, this.log, 'snapshot service');
    });
    return this.rebuilt;
  }

  private async release(): Promise<void> {
    const listener = this.listener;
    if (listener === undefined) return;
    this.listener = undefined;
    this.droppedBefore += listener.replies.dropped;
    await this.security.release([listener.socket]);
    await listener.loop;
  }

  private async serve(socket: Router): Promise<void> {
    try {
      for await (const frames of socket) {
        try {
          this.answer(frames, performance.now());
        } catch (err) {
          // A bug answering one request must not stop the service answering everyone else.
          this.log.error({ err: (err as Error).stack }, 'snapshot request failed');
        }
      }
    } catch (err) {
      if (!socket.closed) this.log.error({ err: (err as Error).message }, 'snapshot service receive loop failed');
    }
  }

  private answer(frames: Buffer[], arrived: number): void {
    const split = splitEnvelope(frames);
    if (split === undefined) {
      // No delimiter: a DEALER that did not add it. Answer in the REQ shape it should use.
      this.reply([frames[0]!, EMPTY], this.refuse('?', SnapshotErrorCode.BAD_REQUEST, 'missing the empty delimiter frame before the request'), arrived);
      return;
    }
    let request: SnapshotRequest | SnapshotRequestError;
    try {
      request = parseSnapshotRequest(split.body);
    } catch (err) {
      if (!(err instanceof SnapshotRequestError)) throw err;
      this.warnings.warn('bad_request', { err: err.message }, 'bad snapshot request');
      request = err;
    }
    this.replies.submit(split.envelope[0]!.toString('latin1'), split.envelope, request, arrived);
  }

  /** The answer to a request (a BAD_REQUEST for one that did not parse), counted. */
  private handle(request: SnapshotRequest | SnapshotRequestError): Answer {
    if (request instanceof SnapshotRequestError) return this.refuse('?', SnapshotErrorCode.BAD_REQUEST, request.message);
    if (request.command === SnapshotCommand.PING) {
      this.count(SnapshotCommand.PING, 'ok');
      return encodePong();
    }
    const cutOff = this.options.cutOff?.();
    if (cutOff !== undefined) return this.refuse(request.command, SnapshotErrorCode.UNAVAILABLE, cutOff);
    switch (request.command) {
      case SnapshotCommand.SNAPSHOT: {
        const incomplete = this.store.incompleteBook(request.prefix);
        if (incomplete !== undefined) {
          // Asked for that one book, which this service is repairing: the next service may have it whole.
          return this.refuse(SnapshotCommand.SNAPSHOT, SnapshotErrorCode.UNAVAILABLE, `book ${request.prefix} is incomplete here (${incomplete}) until a snapshot record of it arrives`);
        }
        const count = this.store.countPrefix(request.prefix);
        if (count > this.options.maxRecords) {
          return this.refuse(SnapshotCommand.SNAPSHOT, SnapshotErrorCode.TOO_LARGE, `${count} topics match ${JSON.stringify(request.prefix)}, at most ${this.options.maxRecords} per reply: narrow the prefix`);
        }
        // Books are built in slices however few: one uncached book can be milliseconds of encoding.
        if (count <= RECORDS_PER_SLICE && !this.store.holdsBooksWithPrefix(request.prefix)) return this.records(SnapshotCommand.SNAPSHOT, this.store.snapshot(request.prefix));
        // Its records are counted as they are built (sliceRecord): an incomplete book is left out.
        this.count(SnapshotCommand.SNAPSHOT, 'ok');
        return { topics: this.store.topicsWithPrefix(request.prefix) };
      }
      case SnapshotCommand.REPLAY: {
        const answer = this.store.replay(request.topic, request.epoch, request.fromSeq);
        if (answer.kind === 'ok') return this.records(SnapshotCommand.REPLAY, answer.messages);
        return this.refuse(SnapshotCommand.REPLAY, answer.kind === 'gone' ? SnapshotErrorCode.GONE : SnapshotErrorCode.UNAVAILABLE, answer.reason);
      }
    }
  }

  private sliceRecord(topic: string): Frames | undefined {
    const message = this.store.get(topic);
    if (message !== undefined) this.recordsServed++;
    return message?.frames;
  }

  private records(command: SnapshotCommand, messages: readonly StoredMessage[]): Buffer[] {
    this.served(command, messages.length);
    return encodeRecordsReply(messages.map((message) => message.frames));
  }

  private served(command: SnapshotCommand, records: number): void {
    this.recordsServed += records;
    this.count(command, 'ok');
  }

  private refuse(command: SnapshotCommand | '?', code: SnapshotErrorCode, text: string): Buffer[] {
    this.count(command, code.toLowerCase() as Lowercase<SnapshotErrorCode>);
    return encodeErrorReply(code, text);
  }

  private reply(envelope: Buffer[], body: Buffer[], arrived: number): void {
    // Answered on the socket it came from; during a rebuild there is none, and the client retries.
    this.listener?.replies.push([...envelope, ...body]);
    this.durations.observe((performance.now() - arrived) / 1000);
  }

  private count(command: SnapshotCommand | '?', result: ReplyResult): void {
    const key = `${command} ${result}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }
}
