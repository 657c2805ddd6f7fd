import { Subscriber } from 'zeromq';
import { WireError, decodeMessage, type DecodedMessage, type RejectReason } from '../../wire/index.js';

export interface TickStreamOptions {
  /** The proxy backend (XPUB) to connect to. */
  readonly endpoint: string;
  /** Topic byte prefixes; the empty string subscribes to everything. */
  readonly prefixes: readonly string[];
  readonly receiveHwm?: number;
  /** Told about each message that fails to decode; it is then skipped. */
  readonly onReject?: (err: WireError, frames: readonly Buffer[]) => void;
}

/**
 * The decoded live stream from the proxy: an async iterator of valid messages. A message
 * that breaks the wire contract is counted by reason and skipped, so one bad publisher
 * never ends the stream for its consumer.
 */
export class TickStream implements AsyncIterable<DecodedMessage> {
  readonly rejected = new Map<RejectReason, number>();
  private readonly socket: Subscriber;

  constructor(private readonly options: TickStreamOptions) {
    this.socket = new Subscriber({ receiveHighWaterMark: options.receiveHwm ?? 100_000, linger: 0 });
    this.socket.connect(options.endpoint);
    for (const prefix of options.prefixes) this.socket.subscribe(prefix);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<DecodedMessage> {
    try {
      for await (const frames of this.socket) {
        const message = this.decode(frames);
        if (message) yield message;
      }
    } catch (err) {
      // Closing the socket ends the iteration; anything else is a real failure.
      if (!this.socket.closed) throw err;
    }
  }

  close(): void {
    this.socket.close();
  }

  private decode(frames: Buffer[]): DecodedMessage | undefined {
    try {
      return decodeMessage(frames);
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      this.rejected.set(err.reason, (this.rejected.get(err.reason) ?? 0) + 1);
      this.options.onReject?.(err, frames);
      return undefined;
    }
  }
}
