import { UNMONITORED, type AdapterMonitor, type FeedAdapter, type RecordSink } from '../adapter.js';
import type { TickRecord } from '../../wire/index.js';
import type { BackoffOptions } from '../../util/backoff.js';
import { ExchangeConnection } from './connection.js';

/** Settings every exchange adapter shares; URL, symbols and venue name are configuration. */
export interface ExchangeOptions {
  readonly url: string;
  /** The venue of the published topics, tick.<venue>.<symbol>. */
  readonly venue: string;
  /** The exchange's own instrument names, e.g. BTC-USD (Coinbase) or btcusdt (Binance). */
  readonly symbols: readonly string[];
  /** Reconnects, and the retries of whatever else the adapter fetches (Binance's REST book). */
  readonly backoff: BackoffOptions;
  readonly maxMessageBytes: number;
  /** Every book is published as a snapshot again this often (SnapshotSchedule); 0 or undefined: never. */
  readonly bookSnapshotIntervalMs?: number;
}

/** Why an upstream message was refused, and the label it is counted under. */
export class UpstreamReject extends Error {
  override readonly name = 'UpstreamReject';
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** One exchange's message format: how to subscribe and how a message becomes records. */
export interface ExchangeProtocol {
  readonly url: string;
  readonly subscribeMessages: readonly string[];
  readonly plannedReconnectMs: number;
  /**
   * Called at each start of the feed, before its connection opens: forgets what an earlier run
   * knew, and takes where this run's records go, what it reports to (timers included) and how it
   * sends on the current connection (e.g. to subscribe again).
   */
  start(emit: RecordSink, monitor: AdapterMonitor, send: (message: string) => void): void;
  /** The feed stopped: timers and requests end, nothing more is emitted. */
  stop(): void;
  /** The connection was lost (not a planned replacement): messages were missed, books are no longer current. */
  connectionLost(): void;
  /** Turns one parsed message into records; throws UpstreamReject for a message it refuses. */
  handle(message: unknown): void;
}

/**
 * An exchange feed adapter: one reconnecting WebSocket, its messages parsed and handed to the
 * exchange's protocol. Garbage and unknown messages are counted, never fatal.
 */
export class ExchangeFeed implements FeedAdapter {
  readonly venues: readonly string[];
  readonly expectsTicks = true;
  private connection: ExchangeConnection | undefined;
  private sink: RecordSink | undefined;

  constructor(
    readonly name: string,
    private readonly options: ExchangeOptions,
    private readonly protocol: ExchangeProtocol,
  ) {
    this.venues = [options.venue];
  }

  async start(sink: RecordSink, monitor: AdapterMonitor = UNMONITORED): Promise<void> {
    if (this.connection) throw new Error(`${this.name} feed is already started`);
    this.sink = sink;
    // Bound to this adapter, not to `sink`: after stop() nothing more reaches the old one.
    const emit: RecordSink = {
      tick: (record) => this.sink?.tick(record),
      book: (record) => this.sink?.book(record) ?? false,
      trade: (record) => this.sink?.trade(record),
    };
    this.protocol.start(emit, monitor, (message) => this.connection?.send(message));
    this.connection = new ExchangeConnection({
      url: this.protocol.url,
      backoff: this.options.backoff,
      plannedReconnectMs: this.protocol.plannedReconnectMs,
      maxMessageBytes: this.options.maxMessageBytes,
      subscribeMessages: this.protocol.subscribeMessages,
      monitor,
      onLost: () => this.protocol.connectionLost(),
      onMessage: (text) => {
        let message: unknown;
        try {
          message = JSON.parse(text);
        } catch {
          monitor.rejected('json', `message is not JSON: ${text.slice(0, 80)}`);
          return;
        }
        try {
          this.protocol.handle(message);
        } catch (err) {
          if (!(err instanceof UpstreamReject)) throw err;
          monitor.rejected(err.reason, err.message);
        }
      },
    });
    this.connection.start();
  }

  async stop(): Promise<void> {
    this.sink = undefined;
    this.connection?.stop();
    this.connection = undefined;
    this.protocol.stop();
  }
}

/** The object of a parsed message, or an UpstreamReject naming what it was instead. */
export function messageObject(message: unknown): Record<string, unknown> {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    throw new UpstreamReject('message', `message is ${Array.isArray(message) ? 'an array' : String(typeof message)}, expected an object`);
  }
  return message as Record<string, unknown>;
}

/** Converts one field with `convert`, turning its RangeError into a counted UpstreamReject naming the field. */
export function field<T>(object: Record<string, unknown>, name: string, convert: (value: unknown) => T): T {
  try {
    return convert(object[name]);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new UpstreamReject('field', `field ${name}: ${err.message}`);
  }
}

/** A JSON integer id or sequence number. */
export function integer(value: unknown): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${JSON.stringify(value) ?? 'missing'} is not an integer`);
  return value as number;
}

export function text(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new RangeError(`${JSON.stringify(value) ?? 'missing'} is not a non-empty string`);
  return value;
}

/** Adds a field only when it has a value, so records keep protocol field order without undefined members. */
export function setDefined(record: TickRecord, name: string, value: number | undefined): void {
  if (value !== undefined) record[name] = value;
}
