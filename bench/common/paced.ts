/** Publishing at a rate: the schedule, and a loop that sends what it says is due. */
import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises';
import type { XPublisher } from 'zeromq';

/** Pacing granularity: each tick, send what the schedule says is due. */
const TICK_MS = 1;

/**
 * A paced loop's clock: how many items are due now at `rate` per second. A backlog beyond
 * maxBacklog (by default 50 ms worth) is given up rather than sent as one burst nobody asked for.
 */
export class Pacer {
  private origin = performance.now();
  private done = 0;
  /** Times the loop fell so far behind that the backlog was given up. */
  stalls = 0;

  constructor(
    private readonly rate: number,
    private readonly maxBacklog = Math.max(1, Math.ceil(rate * 0.05)),
  ) {}

  due(): number {
    let due = Math.floor(((performance.now() - this.origin) * this.rate) / 1000) - this.done;
    if (due > this.maxBacklog) {
      this.stalls++;
      this.origin += ((due - this.maxBacklog) * 1000) / this.rate;
      due = this.maxBacklog;
    }
    return due;
  }

  count(n: number): void {
    this.done += n;
  }
}

/** Sends `next()`'s messages as the pacer makes them due, until it returns undefined; resolves with how many were sent. */
export async function sendPaced(target: XPublisher, pacer: Pacer, next: () => Buffer[] | undefined): Promise<number> {
  let sent = 0;
  for (;;) {
    const due = pacer.due();
    if (due <= 0) {
      await sleep(TICK_MS);
      continue;
    }
    for (let i = 0; i < due; i++) {
      const message = next();
      if (message === undefined) return sent;
      // One send at a time: zeromq.js rejects a second pending send with EBUSY.
      await target.send(message);
      sent++;
    }
    pacer.count(due);
    // A publisher that is behind must still let timers and IPC run.
    await yieldToEventLoop();
  }
}
