import { Subscriber } from 'zeromq';
import type { CurveClientKeys } from '../../curve/index.js';
import { TCP_KEEPALIVE } from '../../util/keepalive.js';
import { WireError, decodeEnvelope, decodeMessage, type DecodedMessage, type Envelope, type RejectReason } from '../../wire/index.js';

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

/**
 * The decoded live stream from one proxy backend (one line): an async iterator of valid
 * messages. A message that breaks the wire contract is counted by reason and skipped, so one
 * bad publisher never ends the stream for its consumer.
 */
export class TickStream implements AsyncIterable<DecodedMessage> {
  readonly rejected = new Map<RejectReason, number>();
  private readonly socket: Subscriber;
  private connected = false;

  constructor(private readonly options: TickStreamOptions) {
    const timeout = options.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS;
    this.socket = new Subscriber({
      ...TCP_KEEPALIVE,
      receiveHighWaterMark: options.receiveHwm ?? 100_000,
      linger: 0,
      heartbeatInterval: options.heartbeatIntervalMs ?? 0,
      heartbeatTimeout: timeout,
      ...options.curve,
    });
    this.socket.events.on('handshake', () => this.setConnected(true));
    this.socket.events.on('disconnect', () => this.setConnected(false));
    this.socket.connect(options.endpoint);
    for (const prefix of options.prefixes) this.socket.subscribe(prefix);
  }

  get endpoint(): string {
    return this.options.endpoint;
  }

  /** Whether the proxy is connected and answering now. */
  get up(): boolean {
    return this.connected;
  }

  [Symbol.asyncIterator](): AsyncIterator<DecodedMessage> {
    return this.read(decodeMessage);
  }

  /** The stream with topic and header checked and payloads not yet parsed: for a LineSet, which parses only the copy that goes on. */
  envelopes(): AsyncGenerator<Envelope> {
    return this.read(decodeEnvelope);
  }

  close(): void {
    this.socket.close();
  }

  private setConnected(up: boolean): void {
    if (up === this.connected || this.socket.closed) return;
    this.connected = up;
    this.options.onLineChange?.(up);
  }

  private async *read<T>(decode: (frames: Buffer[]) => T): AsyncGenerator<T> {
    try {
      for await (const frames of this.socket) {
        try {
          yield decode(frames);
        } catch (err) {
          if (!(err instanceof WireError)) throw err;
          this.reject(err, frames);
        }
      }
    } catch (err) {
      // Closing the socket ends the iteration; anything else is a real failure.
      if (!this.socket.closed) throw err;
    }
  }

  /** Counts and reports a message of this line that broke the contract; it is skipped. */
  reject(err: WireError, frames: readonly Buffer[]): void {
    this.rejected.set(err.reason, (this.rejected.get(err.reason) ?? 0) + 1);
    this.options.onReject?.(err, frames);
  }
}
