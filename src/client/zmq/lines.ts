import type { CurveClientKeys } from '../../curve/index.js';
import { WireError, type DecodedMessage, type Envelope, type RejectReason } from '../../wire/index.js';
import { BoundedQueue } from '../queue.js';
import { Arbiter } from './arbiter.js';
import type { Received } from './received.js';
import { TickStream, type TickStreamOptions } from './stream.js';
import { addCounts } from '../../util/counts.js';

export interface LineSetOptions extends Omit<TickStreamOptions, 'endpoint' | 'onLineChange'> {
  /** The proxy backends, one per line (A/B); every message is expected on each. */
  readonly endpoints: readonly string[];
  /**
   * How long a topic whose seq jumped on one line waits for another line to bring what is
   * missing, before passing the jump on as a gap (default DEFAULT_ARBITRATION_MS; 0: never waits).
   */
  readonly arbitrationMs?: number;
  /** Told when a line comes up or goes down. */
  readonly onLineChange?: (endpoint: string, up: boolean) => void;
}

/**
 * Longer than two healthy lines drift apart (one proxy hop each, well under a millisecond on a
 * LAN), short enough that a real loss, which both lines miss, is repaired almost at once.
 */
export const DEFAULT_ARBITRATION_MS = 10;
/** Arbitrated messages buffered for a reader that is behind; then the lines wait (and ZeroMQ queues). */
const MERGED_QUEUE_LIMIT = 10_000;

/** A copy as the arbiter holds it: its envelope, the message and the line it came on. */
interface LineEnvelope {
  readonly topic: string;
  readonly header: Envelope['header'];
  readonly received: Received;
  readonly line: number;
}

export interface LineStatus {
  readonly endpoint: string;
  readonly up: boolean;
  /** Copies this line brought of messages another line had already delivered. */
  readonly duplicates: number;
  /** Messages lost on this line because its reader was a whole receive queue behind (TickStream.overruns). */
  readonly overruns: number;
}

/**
 * The live stream over every line of a redundant fabric (PROTOCOL.md section 3): one
 * TickStream per proxy backend, merged and arbitrated by (epoch, seq), so each message comes
 * out once, in order per topic, whichever line carried it first. With one line it is that
 * line's stream as it is, at no extra cost.
 */
export class LineSet implements AsyncIterable<DecodedMessage> {
  private readonly streams: readonly TickStream[];
  private readonly arbiter: Arbiter<LineEnvelope> | undefined;
  private readonly merged = new BoundedQueue<DecodedMessage>({ limit: MERGED_QUEUE_LIMIT, whenFull: 'wait' });
  private iterated = false;
  /** Set by forEach: arbitrated messages go straight to it instead of the merged queue. */
  private handler: ((message: DecodedMessage) => void) | undefined;
  /** What the forEach handler threw (maybe from the arbiter's timer, where nothing else would catch it): forEach rejects with it. */
  private handlerError: Error | undefined;

  constructor(options: LineSetOptions) {
    if (options.endpoints.length === 0) throw new Error('a line set needs at least one endpoint');
    const { endpoints, arbitrationMs, onLineChange, ...stream } = options;
    this.streams = endpoints.map((endpoint) => new TickStream({ ...stream, endpoint, onLineChange: (up) => onLineChange?.(endpoint, up) }));
    if (this.streams.length > 1) this.arbiter = new Arbiter(this.streams.length, arbitrationMs ?? DEFAULT_ARBITRATION_MS, (copy) => this.deliver(copy));
  }

  /** Messages that failed to decode, by reason, over all lines. */
  get rejected(): Map<RejectReason, number> {
    const total = new Map<RejectReason, number>();
    for (const line of this.streams) addCounts(total, line.rejected);
    return total;
  }

  /** Holes one line had that another filled in time, and holes passed on as gaps. */
  holes(): { readonly filled: number; readonly expired: number } {
    return { filled: this.arbiter?.counts.holesFilled ?? 0, expired: this.arbiter?.counts.holesExpired ?? 0 };
  }

  /** Each line: connected or not, and the copies it brought that were dropped. */
  lines(): LineStatus[] {
    return this.streams.map((line, i) => ({ endpoint: line.endpoint, up: line.up, duplicates: this.arbiter?.counts.duplicates[i] ?? 0, overruns: line.overruns }));
  }

  /** Whether at least one line is connected. */
  get anyUp(): boolean {
    return this.streams.some((line) => line.up);
  }

  /** The arbitrated stream; one reader only. */
  [Symbol.asyncIterator](): AsyncIterator<DecodedMessage> {
    if (this.iterated) throw new Error('a line set has one reader');
    this.iterated = true;
    if (this.arbiter === undefined) return this.streams[0]![Symbol.asyncIterator]();
    void this.merge(this.arbiter);
    return this.merged;
  }

  /**
   * The arbitrated stream read with a synchronous handler (TickStream.forEach): each message
   * handed over as it goes on, no queue or promise per message. Resolves once every line is
   * closed; rejects when one fails or the handler throws. One reader: not with iteration.
   */
  async forEach(handle: (message: DecodedMessage) => void): Promise<void> {
    if (this.iterated) throw new Error('a line set has one reader');
    this.iterated = true;
    const arbiter = this.arbiter;
    if (arbiter === undefined) return this.streams[0]!.forEach(handle);
    this.handler = handle;
    try {
      await Promise.all(this.streams.map((stream, line) => stream.forEachUnparsed((received) => {
        const { topic, header } = received.envelope();
        arbiter.accept({ topic, header, received, line }, line);
      })));
      if (this.handlerError === undefined) arbiter.releaseAll();
    } catch (err) {
      this.close();
      throw err;
    }
    if (this.handlerError !== undefined) throw this.handlerError;
  }

  close(): void {
    for (const line of this.streams) line.close();
    if (!this.iterated) this.merged.end();
  }

  /** The copy that goes on: only now is its payload parsed, once, instead of once per line. */
  private deliver({ received, line }: LineEnvelope): Promise<void> | undefined {
    let message: DecodedMessage;
    try {
      message = received.message();
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      this.streams[line]!.reject(err, received.frames);
      return undefined;
    }
    if (this.handler === undefined) return this.merged.push(message);
    if (this.handlerError !== undefined) return undefined;
    try {
      this.handler(message);
    } catch (err) {
      // The lines close, so forEach ends, rejecting with this.
      this.handlerError = err as Error;
      this.close();
    }
    return undefined;
  }

  private async merge(arbiter: Arbiter<LineEnvelope>): Promise<void> {
    const reading = this.streams.map(async (stream, line) => {
      for await (const received of stream.unparsed()) {
        const { topic, header } = received.envelope();
        const wait = arbiter.accept({ topic, header, received, line }, line);
        if (wait !== undefined) await wait;
      }
    });
    try {
      await Promise.all(reading);
      arbiter.releaseAll();
      this.merged.end();
    } catch (err) {
      this.close();
      this.merged.fail(err as Error);
    }
  }
}

/** Where a line probe reports: a Logger (pino) fits. */
interface LineLog {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
}

/**
 * One connection per line that carries no data (no subscription), with ZMTP heartbeats, so a
 * role knows which lines are up even while nothing flows, and notices within the heartbeat
 * timeout a proxy that went silent without closing (stopped, partitioned, its link down).
 * Heartbeats are safe here and only here: a probe's receive queue never fills (see
 * src/util/keepalive.ts). `onFabric` is told when the first line comes up and when the last
 * goes down.
 */
export function lineProbe(
  endpoints: readonly string[],
  link: { readonly intervalMs: number; readonly timeoutMs: number; readonly curve?: CurveClientKeys | undefined },
  log: LineLog,
  onFabric: (up: boolean) => void = () => {},
): LineSet {
  let wasUp = false;
  const probe: LineSet = new LineSet({
    endpoints, prefixes: [], heartbeatIntervalMs: link.intervalMs, heartbeatTimeoutMs: link.timeoutMs, curve: link.curve,
    onLineChange: (endpoint, up) => {
      const linesUp = probe.lines().filter((line) => line.up).length;
      if (up) log.info({ endpoint, linesUp }, 'line up');
      else log.warn({ endpoint, linesUp }, 'line down');
      if ((linesUp > 0) !== wasUp) onFabric((wasUp = linesUp > 0));
    },
  });
  return probe;
}
