/**
 * Child program: the load side, a LineSet over every line as a real client reads the fabric
 * (it decodes every message, arbitrates, holds what follows a hole), recording each delivered
 * message's latency and checking the order of every topic.
 */
import { LineSet } from '../../src/client/zmq/index.js';
import { nowMicros, type DecodedMessage } from '../../src/wire/index.js';
import { serve } from '../common/child.js';
import { cpuOverWindow, sleepUntil, type CpuReport, type Window } from '../common/clock.js';
import { encodeHistogram, latencyHistogram, prepareRecording, recordLatency } from '../common/latency.js';

export interface ReceiverReport extends CpuReport {
  /** Messages with a ts inside the window that came out of the line set before the window end + grace. */
  readonly delivered: number;
  /** Seqs a topic skipped, as revealed by messages of the window: what the client would have to repair. */
  readonly gaps: number;
  /** A seq at or below the previous one of its topic and run, or another run mid-case: the arbiter must never let one through. */
  readonly orderErrors: number;
  /** Messages that failed to decode, over all lines. */
  readonly rejected: number;
  /** Delivery latency (now - header ts) of the delivered messages, µs, as an encoded histogram. */
  readonly latency: string;
  readonly holesFilled: number;
  readonly holesExpired: number;
  /** Copies dropped, over all lines. */
  readonly duplicates: number;
}

await prepareRecording();
let lines: LineSet | undefined;

const methods = {
  /** Connects to every line; one line is read as it is, with no arbiter. */
  async start(params: { endpoints: string[]; arbitrationMs: number; receiveHwm: number }): Promise<void> {
    if (lines !== undefined) throw new Error('the receiver is already started');
    lines = new LineSet({ endpoints: params.endpoints, prefixes: [''], arbitrationMs: params.arbitrationMs, receiveHwm: params.receiveHwm });
  },

  /**
   * Reads until the window end + grace, then closes the lines. Called before the source
   * publishes, so nothing measured is missed.
   */
  async measure(params: { window: Window; graceMicros: number }): Promise<ReceiverReport> {
    const reading = lines;
    if (reading === undefined) throw new Error('call start first');
    const deadline = params.window.endMicros + params.graceMicros;
    const cpu = cpuOverWindow(params.window);
    // Closing ends the loop below even if no message comes after the deadline.
    void sleepUntil(deadline).then(() => reading.close());
    const check = new DeliveryCheck(params.window);
    for await (const message of reading) {
      const arrived = nowMicros();
      if (arrived >= deadline) break;
      check.add(message, arrived);
    }
    reading.close();
    lines = undefined;
    const rejected = [...reading.rejected.values()].reduce((sum, n) => sum + n, 0);
    const duplicates = reading.lines().reduce((sum, line) => sum + line.duplicates, 0);
    const holes = reading.holes();
    return { ...check.report(), rejected, duplicates, holesFilled: holes.filled, holesExpired: holes.expired, ...(await cpu) };
  },
};

export type ReceiverMethods = typeof methods;

class DeliveryCheck {
  private readonly last = new Map<string, { readonly epoch: number; readonly seq: number }>();
  private readonly latency = latencyHistogram(true);
  private delivered = 0;
  private gaps = 0;
  private orderErrors = 0;

  constructor(private readonly window: Window) {}

  add({ topic, header: { epoch, seq, ts } }: DecodedMessage, arrivedMicros: number): void {
    const previous = this.last.get(topic);
    this.last.set(topic, { epoch, seq });
    // Order matters from the first message on; counts and latency only for the window's.
    const measured = ts >= this.window.startMicros && ts < this.window.endMicros;
    if (previous !== undefined) {
      // One source run per case: another epoch would be a leftover let through, or a broken order.
      if (epoch !== previous.epoch || seq <= previous.seq) this.orderErrors++;
      else if (measured) this.gaps += seq - previous.seq - 1;
    }
    if (!measured) return;
    this.delivered++;
    recordLatency(this.latency, arrivedMicros - ts);
  }

  report(): Pick<ReceiverReport, 'delivered' | 'gaps' | 'orderErrors' | 'latency'> {
    const latency = encodeHistogram(this.latency);
    // A WebAssembly histogram's memory is not garbage-collected.
    this.latency.destroy();
    return { delivered: this.delivered, gaps: this.gaps, orderErrors: this.orderErrors, latency };
  }
}

serve(methods, () => lines?.close());
