import type { CurveClientKeys } from '../../curve/index.js';
import { WireError, type DecodedMessage, type RejectReason } from '../../wire/index.js';
import { BoundedQueue } from '../queue.js';
import { Received } from './received.js';
import { SharedSubscriber, type Tap } from './shared-subscriber.js';

export interface TickStreamOptions {
  /** The proxy backend (XPUB) to connect to. */
  readonly endpoint: string;
  /** Topic byte prefixes; the empty string subscribes to everything. */
  readonly prefixes: readonly string[];
  readonly receiveHwm?: number;
  /**
   * ZMTP heartbeat interval; 0 (the default) sends none. Only for a stream without
   * subscriptions (a line probe): see src/util/keepalive.ts for why data connections must not
   * carry them.
   */
  readonly heartbeatIntervalMs?: number;
  /** With heartbeats: a proxy that answered nothing for this long (default 3000 ms) is taken as gone, the line down until it answers again. */
  readonly heartbeatTimeoutMs?: number;
  /** With CurveZMQ on the fabric (PROTOCOL.md section 7): the server's public key and this client's key pair. */
  readonly curve?: CurveClientKeys | undefined;
  /** Told about each message that fails to decode; it is then skipped. */
  readonly onReject?: (err: WireError, frames: readonly Buffer[]) => void;
  /** Told when the line comes up (ZMTP handshake done) or goes down (disconnected; with heartbeats, also silent past the timeout). */
  readonly onLineChange?: (up: boolean) => void;
}

const DEFAULT_HEARTBEAT_TIMEOUT_MS = 3000;
export const DEFAULT_RECEIVE_HWM = 100_000;

/**
 * The decoded live stream from one proxy backend (one line): an async iterator of valid
 * messages. A message that breaks the wire contract is counted by reason and skipped, so one
 * bad publisher never ends the stream for its consumer.
 *
 * Streams of one process that read the same backend share one socket (SharedSubscriber), each
 * with its own prefixes and its own queue of at most `receiveHwm` messages: a reader that far
 * behind loses what comes next (counted in `overruns`, a seq gap its consumer repairs), as
 * ZeroMQ would past the socket's high-water mark, and never holds up the other readers.
 */
export class TickStream implements AsyncIterable<DecodedMessage> {
  readonly rejected = new Map<RejectReason, number>();
  /** Messages lost because this stream's reader was `receiveHwm` messages behind. */
  overruns = 0;
  private readonly queue: BoundedQueue<Received>;
  private readonly tap: Tap;
  private readonly socket: SharedSubscriber;
  private connected = false;
  private closed = false;
  /** Set by forEachReceived: messages go straight to it instead of the queue. */
  private handler: ((message: Received) => void) | undefined;
  private handled: { resolve: () => void; reject: (err: Error) => void } | undefined;

  constructor(private readonly options: TickStreamOptions) {
    const limit = options.receiveHwm ?? DEFAULT_RECEIVE_HWM;
    // Never waits: deliver() checks for room before it pushes.
    this.queue = new BoundedQueue({ limit: limit + 1, whenFull: 'wait' });
    this.tap = {
      prefixes: options.prefixes,
      deliver: (message) => {
        if (this.handler !== undefined) return this.hand(this.handler, message);
        if (this.queue.pending >= limit) {
          this.overruns++;
          return false;
        }
        void this.queue.push(message);
        return true;
      },
      lineChanged: (up) => this.setConnected(up),
      failed: (err) => this.fail(err),
    };
    this.socket = SharedSubscriber.join({
      endpoint: options.endpoint,
      receiveHwm: limit,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 0,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
      curve: options.curve,
    }, this.tap);
  }

  get endpoint(): string {
    return this.options.endpoint;
  }

  /** Whether the proxy is connected and answering now. */
  get up(): boolean {
    return this.connected;
  }

  [Symbol.asyncIterator](): AsyncIterator<DecodedMessage> {
    return this.read((message) => message.message());
  }

  /**
   * The stream with topic and header checked and records not yet parsed: for a LineSet, which
   * parses only the copy that goes on (Received.message()).
   */
  unparsed(): AsyncGenerator<Received> {
    return this.read((message) => (message.envelope(), message));
  }

  /**
   * Reads the stream with a synchronous handler instead of an iterator: each valid message is
   * handed over as it is received, with no queue and no promise per message (a reader that
   * never waits, such as the snapshot store's ingest, has no use for them). Resolves when the
   * stream is closed, rejects when its socket fails or the handler throws (the stream then
   * closes). One reader: not together with iteration.
   */
  forEach(handle: (message: DecodedMessage) => void): Promise<void> {
    return this.forEachReceived((message) => handle(message.message()));
  }

  /** forEach with topic and header checked and records not yet parsed: for a LineSet. */
  forEachUnparsed(handle: (message: Received) => void): Promise<void> {
    return this.forEachReceived((message) => (message.envelope(), handle(message)));
  }

  /** Ends the stream at once: what it had not yet read is dropped, as a closed socket drops its queue. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.leave(this.tap);
    void this.queue.return();
    this.handled?.resolve();
  }

  private forEachReceived(handle: (message: Received) => void): Promise<void> {
    if (this.handler !== undefined) throw new Error('a tick stream has one reader');
    this.handler = handle;
    return new Promise((resolve, reject) => {
      this.handled = { resolve, reject };
      if (this.closed) resolve();
    });
  }

  /** Hands one message to a forEach handler; a message that breaks the contract is counted and skipped. */
  private hand(handle: (message: Received) => void, message: Received): boolean {
    try {
      handle(message);
    } catch (err) {
      if (err instanceof WireError) this.reject(err, message.frames);
      else this.fail(err as Error);
    }
    return true;
  }

  private fail(err: Error): void {
    this.queue.fail(err);
    if (this.handled === undefined) return;
    this.handled.reject(err);
    this.close();
  }

  private setConnected(up: boolean): void {
    if (up === this.connected || this.closed) return;
    this.connected = up;
    this.options.onLineChange?.(up);
  }

  private async *read<T>(decode: (message: Received) => T): AsyncGenerator<T> {
    for await (const message of this.queue) {
      try {
        yield decode(message);
      } catch (err) {
        if (!(err instanceof WireError)) throw err;
        this.reject(err, message.frames);
      }
    }
  }

  /** Counts and reports a message of this line that broke the contract; it is skipped. */
  reject(err: WireError, frames: readonly Buffer[]): void {
    this.rejected.set(err.reason, (this.rejected.get(err.reason) ?? 0) + 1);
    this.options.onReject?.(err, frames);
  }
}
