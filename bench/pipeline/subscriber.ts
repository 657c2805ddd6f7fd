/**
 * Child program: a Subscriber to everything that decodes the header only (seq and ts), the
 * least a consumer that tracks gaps must do, and counts what the window delivered.
 */
import { Subscriber } from 'zeromq';
import { decodeHeader, nowMicros, type Header } from '../../src/wire/index.js';
import { childOptions, emit, measureCpu, nextCommand, onShutdown, runChild } from './child.js';
import { sleepUntil } from './clock.js';
import { LatencyHistogram } from './latency.js';
import type { SubscriberOptions, SubscriberReport, Window } from './messages.js';

runChild(async () => {
  const options = childOptions<SubscriberOptions>();
  const socket = new Subscriber({ receiveHighWaterMark: options.receiveHwm, linger: 0 });
  onShutdown(() => socket.close());
  socket.connect(options.connect);
  socket.subscribe();
  await emit({ type: 'ready', endpoints: [options.connect] });

  // The parent sends the window before the publisher may start, so nothing measured is missed.
  const { window, graceMicros } = await nextCommand('window');
  const deadline = window.endMicros + graceMicros;
  const cpu = measureCpu(window);
  // Closing ends the loop below even if the last message never comes.
  void sleepUntil(deadline).then(() => socket.close());

  const counter = new DeliveryCounter(window);
  try {
    for await (const frames of socket) {
      const arrived = nowMicros();
      if (arrived >= deadline) break;
      counter.add(frames, arrived);
    }
  } catch (err) {
    // Closed mid-receive, zeromq.js may reject with ENOTSOCK rather than end the iteration.
    if (!socket.closed) throw err;
  }
  socket.close();
  await emit<SubscriberReport>({ type: 'result', report: { ...counter.report(), ...(await cpu) } });
});

class DeliveryCounter {
  private readonly lastSeq = new Map<string, number>();
  private readonly latency = new LatencyHistogram();
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
    this.latency.record(arrivedMicros - ts);
    if (previous === undefined) return;
    if (seq > previous + 1) this.missing += seq - previous - 1;
    else if (seq <= previous) this.outOfOrder++;
  }

  report(): Omit<SubscriberReport, 'cpuPercent'> {
    return {
      delivered: this.delivered,
      missing: this.missing,
      outOfOrder: this.outOfOrder,
      invalid: this.invalid,
      p50Micros: this.latency.percentile(50),
      p99Micros: this.latency.percentile(99),
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
