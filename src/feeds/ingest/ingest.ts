import { Pull, Subscriber, type Socket } from 'zeromq';
import { FabricSecurity } from '../../curve/index.js';
import { UNMONITORED, type AdapterMonitor, type FeedAdapter, type RecordSink } from '../adapter.js';
import { WireError, parseJsonPayload, parseTopic, validateTickRecord, type TickRecord } from '../../wire/index.js';

export interface IngestOptions {
  /** Where the PULL socket binds; other programs' PUSH sockets connect. */
  readonly endpoint: string;
  /**
   * Where a SUB socket subscribed to everything binds for programs with a PUB socket; "" for
   * none. It also takes the 3-frame messages a publisher sends to the proxy frontend (XSUB),
   * so such a program can be pointed here unchanged; their header is ignored.
   */
  readonly subEndpoint: string;
  /** A record frame larger than this is refused and counted. */
  readonly maxRecordBytes: number;
  readonly receiveHwm: number;
}

/**
 * libzmq's own limit on one message, far above maxRecordBytes: a larger one makes libzmq drop
 * the sender's connection instead of handing the message over, so memory stays bounded even
 * against a hostile peer. Up to it, oversized records are counted like any other reject.
 */
const TRANSPORT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * The ZeroMQ ingest edge (PROTOCOL.md section 3): 2-frame messages [topic, JSON record] from
 * programs in any language. Each is validated here; a valid one becomes a tick with tickfan's
 * epoch and seq, an invalid one is counted by reason and the stream goes on.
 */
export class IngestAdapter implements FeedAdapter {
  readonly name = 'ingest';
  readonly venues: readonly string[] = [];
  readonly expectsTicks = false;
  private sockets: Socket[] = [];
  private sink: RecordSink | undefined;
  private monitor: AdapterMonitor = UNMONITORED;
  /** The endpoints bound first (a `:*` port resolved), which a rebuild after a revocation binds again. */
  private endpoints: { readonly pull: string; readonly sub: string } | undefined;

  constructor(
    private readonly options: IngestOptions,
    /** CurveZMQ on both sockets, admitting publishers' keys (PROTOCOL.md section 7); plain without. */
    private readonly security: FabricSecurity = FabricSecurity.PLAIN,
  ) {}

  async start(sink: RecordSink, monitor: AdapterMonitor = UNMONITORED): Promise<void> {
    if (this.sink) throw new Error('ingest is already started');
    this.sink = sink;
    this.monitor = monitor;
    try {
      this.endpoints = await this.open(this.endpoints ?? { pull: this.options.endpoint, sub: this.options.subEndpoint });
    } catch (err) {
      this.sink = undefined;
      throw err;
    }
    monitor.connected();
  }

  async stop(): Promise<void> {
    this.sink = undefined;
    await this.closeSockets();
  }

  private async open(endpoints: { readonly pull: string; readonly sub: string }): Promise<{ pull: string; sub: string }> {
    const options = { receiveHighWaterMark: this.options.receiveHwm, maxMessageSize: TRANSPORT_MAX_MESSAGE_BYTES, linger: 0 };
    const pull = new Pull(options);
    const sub = endpoints.sub === '' ? undefined : new Subscriber(options);
    sub?.subscribe();
    this.sockets = sub === undefined ? [pull] : [pull, sub];
    const reopen = () => this.reopen();
    let bound: { pull: string; sub: string };
    try {
      bound = {
        pull: await this.security.bind(pull, endpoints.pull, { peers: 'publishers', setting: 'feeds.ingest.endpoint', reopen }),
        sub: sub === undefined ? '' : await this.security.bind(sub, endpoints.sub, { peers: 'publishers', setting: 'feeds.ingest.subEndpoint', reopen }),
      };
    } catch (err) {
      await this.closeSockets();
      throw err;
    }
    void this.receive(pull, false);
    if (sub !== undefined) void this.receive(sub, true);
    return bound;
  }

  /**
   * Drops every connection (a revoked key may hold one): new sockets on the same endpoints. If
   * they cannot be bound, that is the adapter's failure, and its supervisor restarts it.
   */
  private async reopen(): Promise<void> {
    if (this.sink === undefined || this.endpoints === undefined) return;
    await this.closeSockets();
    try {
      await this.open(this.endpoints);
    } catch (err) {
      this.monitor.guard(() => {
        throw err;
      });
    }
  }

  private async closeSockets(): Promise<void> {
    const sockets = this.sockets;
    this.sockets = [];
    await this.security.release(sockets);
  }

  private async receive(socket: Pull | Subscriber, headerFrameAllowed: boolean): Promise<void> {
    const monitor = this.monitor;
    try {
      for await (const frames of socket) {
        const sink = this.sink;
        if (!sink) return;
        monitor.guard(() => {
          const record = this.decode(headerFrameAllowed && frames.length === 3 ? [frames[0]!, frames[2]!] : frames, monitor);
          if (record) sink.tick(record);
        });
      }
    } catch (err) {
      // Closing the socket ends the loop; anything else is the adapter's failure.
      if (!socket.closed) monitor.guard(() => { throw err; });
    }
  }

  private decode(frames: Buffer[], monitor: AdapterMonitor): TickRecord | undefined {
    try {
      return decodePush(frames, this.options.maxRecordBytes);
    } catch (err) {
      if (!(err instanceof IngestReject || err instanceof WireError)) throw err;
      monitor.rejected(err.reason, err.message);
      return undefined;
    }
  }
}

class IngestReject extends Error {
  override readonly name = 'IngestReject';
  constructor(
    readonly reason: 'frame_count' | 'too_large',
    message: string,
  ) {
    super(message);
  }
}

/** Why the ingest edge refuses each non-tick class: it publishes what it validates as ticks only. */
const NOT_PUSHED = {
  status: "status topics are tickfan's own",
  book: 'ingest does not take book records (it would have to own each book, snapshot first, PROTOCOL.md section 8)',
  trade: 'ingest does not take trade records',
} as const;

/** One pushed message as a validated tick record; throws an IngestReject or WireError naming what was wrong. */
export function decodePush(frames: readonly Buffer[], maxRecordBytes: number): TickRecord {
  if (frames.length !== 2) throw new IngestReject('frame_count', `message has ${frames.length} frames, expected 2: topic, JSON record`);
  const [topicFrame, payload] = frames as [Buffer, Buffer];
  if (payload.length > maxRecordBytes) throw new IngestReject('too_large', `record is ${payload.length} bytes, at most ${maxRecordBytes} allowed`);
  const topic = topicFrame.toString('latin1');
  const parsed = parseTopic(topic);
  if (parsed.kind !== 'tick') throw new WireError('topic', `${topic}: only tick.<venue>.<symbol> topics can be pushed; ${NOT_PUSHED[parsed.kind]}`);
  return validateTickRecord(parsed, parseJsonPayload(payload, 'record'));
}
