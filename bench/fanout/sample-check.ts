/**
 * What a real client does with what it receives, done by the load clients for a sample: one
 * frame in SAMPLE_EVERY of a tickfan client (every event of it) and one message in
 * SAMPLE_EVERY of a NATS client is fully parsed and checked: a JSON event of a known type, a
 * tick or snapshot with its fields, and per topic seqs that only go up within an epoch. Every
 * n-th frame whatever its size holds 1 / n of the events on average, so both peers' clients
 * parse about the same share of what they receive, and a client that gets few big frames (a
 * conflating one) still has some checked.
 */

/** One frame or message in this many is parsed and checked. */
export const SAMPLE_EVERY = 32;
/** tickfan's event types (PROTOCOL.md section 4); a NATS message carries a tick event. */
const EVENT_TYPES = new Set(['welcome', 'subscribed', 'unsubscribed', 'topics', 'pong', 'snapshot', 'tick', 'heartbeat', 'status', 'error']);

export interface CheckCounts {
  /** Events parsed and checked. */
  readonly checked: number;
  readonly invalid: number;
  /** The first invalid event's problem, when there was one. */
  readonly problem: string | undefined;
}

/** The checked and invalid events of every client of a load process, over a measured window. */
export class CheckTally implements CheckCounts {
  checked = 0;
  invalid = 0;
  problem: string | undefined;

  reset(): void {
    this.checked = 0;
    this.invalid = 0;
    this.problem = undefined;
  }

  fail(problem: string): void {
    this.invalid++;
    this.problem ??= problem;
  }
}

/** One client's sampling and seq order. */
export class SampleCheck {
  /** Frames or messages until the next sample. */
  private untilSample: number;
  /** By topic: the epoch and seq of the latest tick or snapshot checked. */
  private readonly latest = new Map<string, { epoch: number; seq: number }>();

  constructor(private readonly tally: CheckTally) {
    // Clients start at different points, so their samples do not all fall on the same frames.
    this.untilSample = 1 + Math.floor(Math.random() * SAMPLE_EVERY);
  }

  /** Whether the frame or message just received is to be checked. */
  due(): boolean {
    if (--this.untilSample > 0) return false;
    this.untilSample = SAMPLE_EVERY;
    return true;
  }

  /** Parses and checks a tickfan frame: a JSON array of events, returned for more checks (book-check.ts) when it is one. */
  frame(text: string): readonly unknown[] | undefined {
    const frame = this.parse(text);
    if (frame === undefined) return undefined;
    if (!Array.isArray(frame)) {
      this.tally.fail(`a frame is not a JSON array: ${text.slice(0, 120)}`);
      return undefined;
    }
    for (const event of frame) this.event(event);
    return frame;
  }

  /** Parses and checks a NATS message's payload: one tick event, on the subject of its topic. */
  message(text: string, subject: string, subjectOf: (topic: string) => string): void {
    const event = this.parse(text);
    if (event === undefined) return;
    const topic = (event as { topic?: unknown }).topic;
    if (typeof topic === 'string' && subjectOf(topic) !== subject) return this.tally.fail(`the event of topic ${topic} came on subject ${subject}`);
    if ((event as { type?: unknown }).type !== 'tick') return this.tally.fail(`a NATS message is not a tick event: ${text.slice(0, 120)}`);
    this.event(event);
  }

  private parse(text: string): unknown {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      this.tally.fail(`not JSON: ${text.slice(0, 120)}`);
      return undefined;
    }
  }

  private event(value: unknown): void {
    this.tally.checked++;
    if (typeof value !== 'object' || value === null) return this.tally.fail(`an event is not an object: ${JSON.stringify(value)}`);
    const event = value as Record<string, unknown>;
    if (typeof event.type !== 'string' || !EVENT_TYPES.has(event.type)) return this.tally.fail(`an event of unknown type ${JSON.stringify(event.type)}`);
    if (event.type !== 'tick' && event.type !== 'snapshot') return;
    const { topic, epoch, seq, ts, data } = event;
    if (typeof topic !== 'string' || !Number.isSafeInteger(epoch) || !Number.isSafeInteger(seq) || !Number.isSafeInteger(ts) || typeof data !== 'object' || data === null) {
      return this.tally.fail(`a ${event.type} event without its topic, epoch, seq, ts or data: ${JSON.stringify(event).slice(0, 120)}`);
    }
    const latest = this.latest.get(topic);
    // A snapshot may repeat the seq of the latest tick; a tick must be newer than all before it.
    const behind = latest !== undefined && latest.epoch === epoch && (event.type === 'tick' ? (seq as number) <= latest.seq : (seq as number) < latest.seq);
    if (behind) return this.tally.fail(`${topic}: ${event.type} seq ${String(seq)} after seq ${latest.seq}`);
    this.latest.set(topic, { epoch: epoch as number, seq: seq as number });
  }
}
