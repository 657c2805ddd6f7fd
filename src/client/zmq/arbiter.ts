import { sequence, type Stamp } from '../../wire/index.js';

/** What arbitration looks at: a message's topic and header (an Envelope, or a DecodedMessage). */
export interface Arbitrated {
  readonly topic: string;
  readonly header: Stamp;
}

/**
 * A topic waiting for a missing seq that another line may still carry: what came after the
 * hole, by seq, held back so the topic's order never breaks.
 */
interface Hole<M> {
  /** performance.now() at which the wait ends and what is held goes on, hole and all. */
  readonly deadline: number;
  readonly waiting: Map<number, M>;
}

/**
 * Messages one topic may hold back while it waits; beyond it the wait ends early. A window of
 * milliseconds holds a handful at real rates; the bound only caps a burst.
 */
const MAX_HELD_PER_TOPIC = 1000;

export interface ArbiterCounts {
  /** Copies of messages already passed (or a previous run's leftovers), per line: dropped. */
  readonly duplicates: number[];
  /** Holes another line filled within the window: a loss on one line that no one downstream sees. */
  holesFilled: number;
  /**
   * Holes no line filled within the window (or given up early: the source restarted, or too
   * much was held): passed on as a gap, for the subscriber to repair.
   */
  holesExpired: number;
}

/**
 * A/B line arbitration (PROTOCOL.md section 3), the way exchange feed handlers arbitrate
 * duplicated multicast: each message comes once per line, the first copy by (epoch, seq) goes
 * on and later copies are dropped. When a topic's seq jumps on the line that is ahead, the
 * next message is held for a short window rather than passed on as a gap, since the line
 * behind usually still carries the missing one: a loss on one line then costs the window at
 * most, instead of a REPLAY. Everything the topic receives meanwhile is held too, so what goes
 * on is in order per topic. Other topics flow on.
 *
 * State: the last stamp passed per topic (one entry per topic of the followed prefixes, like
 * the subscriber's own state), and the holes, each bounded.
 */
export class Arbiter<M extends Arbitrated> {
  readonly counts: ArbiterCounts;
  private readonly passed = new Map<string, Stamp>();
  /** Oldest first: the window is the same for all, so insertion order is deadline order. */
  private readonly holes = new Map<string, Hole<M>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    lines: number,
    private readonly windowMs: number,
    /** Takes each message that goes on; a promise when the taker wants the lines to wait for it. */
    private readonly emit: (message: M) => Promise<void> | undefined,
  ) {
    this.counts = { duplicates: new Array<number>(lines).fill(0), holesFilled: 0, holesExpired: 0 };
  }

  /** Topics holding messages back now. */
  get holding(): number {
    return this.holes.size;
  }

  /** Takes one copy from `line`; returns the taker's promise when it wants the line to wait. */
  accept(message: M, line: number): Promise<void> | undefined {
    const { topic, header } = message;
    const hole = this.holes.get(topic);
    switch (sequence(this.passed.get(topic), header)) {
      case 'duplicate':
      case 'older':
        this.counts.duplicates[line]!++;
        return undefined;
      case 'first':
        return this.pass(message);
      case 'new_epoch':
        // What the hole held belongs to the run that ended: it goes first, as it came.
        if (hole !== undefined) this.release(topic, hole);
        if (header.seq === 1 || this.windowMs === 0) return this.pass(message);
        // A run starts at seq 1: this line lost the start, which the other may still bring.
        this.passed.set(topic, { epoch: header.epoch, seq: 0, ts: header.ts });
        this.openHole(topic, message);
        return undefined;
      case 'next': {
        const waited = this.pass(message);
        if (hole === undefined) return waited;
        this.counts.holesFilled++;
        return this.fill(topic, hole) ?? waited;
      }
      case 'gap':
        if (this.windowMs === 0) return this.pass(message);
        if (hole === undefined) {
          this.openHole(topic, message);
        } else if (hole.waiting.has(header.seq)) {
          this.counts.duplicates[line]!++;
        } else {
          hole.waiting.set(header.seq, message);
          if (hole.waiting.size > MAX_HELD_PER_TOPIC) this.release(topic, hole);
        }
        return undefined;
    }
  }

  /** Lets everything held go on at once (the lines are closing). */
  releaseAll(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const [topic, hole] of this.holes) this.release(topic, hole);
  }

  private openHole(topic: string, after: M): void {
    this.holes.set(topic, { deadline: performance.now() + this.windowMs, waiting: new Map([[after.header.seq, after]]) });
    this.arm();
  }

  private pass(message: M): Promise<void> | undefined {
    this.passed.set(message.topic, message.header);
    return this.emit(message);
  }

  /** Passes the held messages that now follow without a hole; the topic keeps waiting if another hole is left. */
  private fill(topic: string, hole: Hole<M>): Promise<void> | undefined {
    let waited: Promise<void> | undefined;
    for (let next = this.passed.get(topic)!.seq + 1, held = hole.waiting.get(next); held !== undefined; held = hole.waiting.get(++next)) {
      hole.waiting.delete(next);
      waited = this.pass(held) ?? waited;
    }
    if (hole.waiting.size === 0) this.holes.delete(topic);
    return waited;
  }

  /** The window is over: what is held goes on in seq order, holes and all. */
  private release(topic: string, hole: Hole<M>): void {
    this.holes.delete(topic);
    this.counts.holesExpired++;
    for (const seq of [...hole.waiting.keys()].sort((a, b) => a - b)) void this.pass(hole.waiting.get(seq)!);
  }

  private arm(): void {
    if (this.timer !== undefined) return;
    const first = this.holes.values().next();
    if (first.done) return;
    this.timer = setTimeout(() => this.expire(), Math.max(0, first.value.deadline - performance.now()));
    this.timer.unref();
  }

  private expire(): void {
    this.timer = undefined;
    const now = performance.now();
    for (const [topic, hole] of this.holes) {
      if (hole.deadline > now) break;
      this.release(topic, hole);
    }
    this.arm();
  }
}
