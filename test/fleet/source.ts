/**
 * The fault matrix's source, a child program on the feed host (test/fleet/fleet.ts starts it
 * there): a driver that PUSHes records at a fixed rate to the feed role's ingest edge, and a
 * witness, a SUB socket the feed publishes to as one more line of its frontend list, on the
 * feed host's loopback where no fault of the matrix reaches it. The driver knows the last
 * record it sent per topic, and the witness what the feed made of it (epoch, seq, ts): together,
 * the source's state that every client must end with.
 */
import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises';
import { Push, Subscriber } from 'zeromq';
import { serve } from '../../bench/common/child.js';
import { Pacer } from '../../bench/common/paced.js';
import { decodeHeader, tickTopic } from '../../src/wire/index.js';
import { Conditions } from '../helpers/conditions.js';

/** One topic of the source's state, as the feed published it: the fields the clients are compared on. */
export interface SourceEntry {
  readonly epoch: number;
  readonly seq: number;
  /** The driver's per-topic counter carried in the record: which record this is. */
  readonly n: number;
}

export type SourceState = Record<string, SourceEntry>;

export interface SourceSetup {
  /** The feed role's ingest PULL. */
  readonly ingest: string;
  /** Where the witness binds; the feed's connect.frontend lists it, as one more line. */
  readonly witness: string;
  readonly venue: string;
  readonly symbols: readonly string[];
}

interface WitnessTopic {
  epoch: number;
  seq: number;
  /** The driver's counter in the record. */
  n: number;
}

class Witness {
  /** Messages whose seq did not follow its topic's previous one within an epoch: the feed itself lost them. */
  holes = 0;
  /** Records the driver sent that the feed never published (the driver's counter n jumped): lost at the source, when the feed was killed. */
  recordsLost = 0;
  received = 0;
  readonly latest = new Map<string, WitnessTopic>();
  private readonly socket = new Subscriber({ receiveHighWaterMark: 1_000_000, linger: 0 });

  constructor(private readonly conditions: Conditions) {
    this.socket.subscribe('tick.');
  }

  /** Binds, then reads: zeromq.js refuses a receive while a bind is under way. */
  async start(endpoint: string): Promise<void> {
    await this.socket.bind(endpoint);
    void this.read();
  }

  close(): void {
    this.socket.close();
  }

  private async read(): Promise<void> {
    try {
      for await (const [topicFrame, header, payload] of this.socket) this.onMessage(topicFrame!.toString('latin1'), decodeHeader(header!), payload!);
    } catch (err) {
      if (!this.socket.closed) throw err;
    }
  }

  private onMessage(topic: string, { epoch, seq }: { epoch: number; seq: number }, payload: Buffer): void {
    this.received++;
    const held = this.latest.get(topic);
    if (held?.epoch === epoch && seq !== held.seq + 1) this.holes++;
    const { n } = JSON.parse(payload.toString()) as { n: number };
    if (held !== undefined && n > held.n + 1) this.recordsLost += n - held.n - 1;
    this.latest.set(topic, { epoch, seq, n });
    this.conditions.check();
  }
}

let setup: SourceSetup | undefined;
let push: Push | undefined;
let witness: Witness | undefined;
const conditions = new Conditions();
/** Per topic, the counter of the last record sent. */
const sent = new Map<string, number>();
let streaming: { stop: boolean; done: Promise<number> } | undefined;

function record(venue: string, symbol: string, n: number): Buffer {
  // Prices in whole cents, so the record passes ingest validation (no float noise) and changes every time.
  const bid = (10_000 + (n % 1000)) / 100;
  return Buffer.from(JSON.stringify({ venue, symbol, bid, bidSize: 1, ask: (10_001 + (n % 1000)) / 100, askSize: 2, last: bid, n }));
}

async function stream(rate: number, state: { stop: boolean }): Promise<number> {
  const { venue, symbols } = setup!;
  const topics = symbols.map((symbol) => ({ symbol, frame: Buffer.from(tickTopic(venue, symbol)) }));
  const pacer = new Pacer(rate);
  let next = 0;
  let count = 0;
  while (!state.stop) {
    const due = pacer.due();
    if (due <= 0) {
      await sleep(1);
      continue;
    }
    for (let i = 0; i < due && !state.stop; i++) {
      const { symbol, frame } = topics[next++ % topics.length]!;
      const topic = frame.toString();
      const n = (sent.get(topic) ?? 0) + 1;
      // Awaited one at a time (zeromq.js allows one pending send); it waits while the feed is down.
      await push!.send([frame, record(venue, symbol, n)]);
      sent.set(topic, n);
      count++;
    }
    pacer.count(due);
    await yieldToEventLoop();
  }
  return count;
}

/** The witness's state, once it holds the last record sent of every topic; with what is still missing, otherwise. */
function witnessed(): { state: SourceState; missing: string[] } {
  const state: SourceState = {};
  const missing: string[] = [];
  for (const [topic, n] of sent) {
    const seen = witness!.latest.get(topic);
    if (seen?.n !== n) missing.push(`${topic} (sent n=${n}, witness has ${seen?.n ?? 'nothing'})`);
    else state[topic] = { epoch: seen.epoch, seq: seen.seq, n };
  }
  return { state, missing };
}

const methods = {
  async start(params: SourceSetup): Promise<void> {
    setup = params;
    witness = new Witness(conditions);
    await witness.start(params.witness);
    push = new Push({ sendHighWaterMark: 100_000, linger: 0 });
    push.connect(params.ingest);
  },

  /** Starts sending `rate` records per second over the topics, round robin, until stop(); the witness's loss counters start again. */
  async stream(params: { rate: number }): Promise<void> {
    if (streaming) throw new Error('already streaming');
    // Each row streams once: the witness counts its losses from here.
    witness!.holes = 0;
    witness!.recordsLost = 0;
    const state = { stop: false, done: Promise.resolve(0) };
    state.done = stream(params.rate, state);
    streaming = state;
  },

  /** Stops sending; resolves with how many records this stream sent. */
  async stop(): Promise<{ sent: number }> {
    if (!streaming) throw new Error('not streaming');
    streaming.stop = true;
    const count = await streaming.done;
    streaming = undefined;
    return { sent: count };
  },

  /**
   * The source's state, once the witness holds the last record sent of every topic (the feed
   * published them all); rejects after timeoutMs naming the topics still missing.
   */
  async state(params: { timeoutMs: number }): Promise<{ state: SourceState; witnessHoles: number; recordsLost: number }> {
    await conditions.until(() => witnessed().missing.length === 0, params.timeoutMs, () => {
      const { missing } = witnessed();
      return `the witness to hold the last record sent of every topic; ${missing.length} missing: ${missing.slice(0, 5).join(', ')}`;
    });
    return { state: witnessed().state, witnessHoles: witness!.holes, recordsLost: witness!.recordsLost };
  },

};

export type SourceMethods = typeof methods;

serve(methods, () => {
  if (streaming) streaming.stop = true;
  push?.close();
  witness?.close();
});
