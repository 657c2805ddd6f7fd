/**
 * Child program: a Subscriber to everything that decodes the header only (seq and ts), the
 * least a consumer that tracks gaps must do, and counts what the window delivered.
 */
import { Subscriber } from 'zeromq';
import { FabricSecurity, type CurveSettings } from '../../src/curve/index.js';
import { createLogger } from '../../src/log/index.js';
import { decodeHeader, nowMicros, type Header } from '../../src/wire/index.js';
import { serve } from '../common/child.js';
import { cpuOverWindow, sleepUntil, type CpuReport, type Window } from '../common/clock.js';
import { latencyHistogram, percentiles, prepareRecording, recordLatency } from '../common/latency.js';

export interface SubscriberReport extends CpuReport {
  /** Messages with a ts inside the window that arrived before the window end + grace. */
  readonly delivered: number;
  /** Seqs skipped within a topic (summed), as revealed by messages of the window. */
  readonly missing: number;
  /** A seq at or below the previous one of its topic: PUB/SUB must never do this. */
  readonly outOfOrder: number;
  /** Messages that were not 3 frames with a valid header. */
  readonly invalid: number;
  readonly p50Micros: number | undefined;
  readonly p99Micros: number | undefined;
}

await prepareRecording();
let socket: Subscriber | undefined;

const methods = {
  /** With curve, a CURVE client presenting the subscriber's key. */
  async start(params: { connect: string; receiveHwm: number; curve?: CurveSettings }): Promise<{ mechanism: Subscriber['securityMechanism'] }> {
    if (socket !== undefined) throw new Error('the subscriber is already started');
    const keys = params.curve === undefined ? undefined : FabricSecurity.open(params.curve, createLogger('warn')).clientKeys();
    socket = new Subscriber({ receiveHighWaterMark: params.receiveHwm, linger: 0, ...keys });
    socket.connect(params.connect);
    socket.subscribe();
    return { mechanism: socket.securityMechanism };
  },

  /**
   * Counts what arrives until the window end + grace, then closes the socket. The parent calls
   * this before the publisher may start, so nothing measured is missed.
   */
  async measure(params: { window: Window; graceMicros: number }): Promise<SubscriberReport> {
    const receiver = socket;
    if (receiver === undefined) throw new Error('call start first');
    const deadline = params.window.endMicros + params.graceMicros;
    const cpu = cpuOverWindow(params.window);
    // Closing ends the loop below even if the last message never comes.
    void sleepUntil(deadline).then(() => receiver.close());
    const counter = new DeliveryCounter(params.window);
    try {
      for await (const frames of receiver) {
        const arrived = nowMicros();
        if (arrived >= deadline) break;
        counter.add(frames, arrived);
      }
    } catch (err) {
      // Closed mid-receive, zeromq.js may reject with ENOTSOCK rather than end the iteration.
      if (!receiver.closed) throw err;
    }
    receiver.close();
    return { ...counter.report(), ...(await cpu) };
  },
};

export type SubscriberMethods = typeof methods;

class DeliveryCounter {
  private readonly lastSeq = new Map<string, number>();
  private readonly latency = latencyHistogram(true);
  private delivered = 0;
  private missing = 0;
  private outOfOrder = 0;
  private invalid = 0;

  constructor(private readonly window: Window) {}

  add(frames: Buffer[], arrivedMicros: number): void {
    const header = frames.length === 3 ? headerOrUndefined(frames[1]!) : undefined;
    if (!header) {
      this.invalid++;
      return;
    }
    const { seq, ts } = header;
    const topic = frames[0]!.toString('latin1');
    const previous = this.lastSeq.get(topic);
    this.lastSeq.set(topic, seq);
    // Warm-up messages only set each topic's seq baseline.
    if (ts < this.window.startMicros || ts >= this.window.endMicros) return;
    this.delivered++;
    recordLatency(this.latency, arrivedMicros - ts);
    if (previous === undefined) return;
    if (seq > previous + 1) this.missing += seq - previous - 1;
    else if (seq <= previous) this.outOfOrder++;
  }

  report(): Omit<SubscriberReport, 'cpuPercent'> {
    const latency = percentiles(this.latency);
    return {
      delivered: this.delivered,
      missing: this.missing,
      outOfOrder: this.outOfOrder,
      invalid: this.invalid,
      p50Micros: latency?.p50,
      p99Micros: latency?.p99,
    };
  }
}

function headerOrUndefined(frame: Buffer): Header | undefined {
  try {
    return decodeHeader(frame);
  } catch {
    return undefined;
  }
}

serve(methods, () => socket?.close());
