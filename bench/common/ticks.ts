/** Benchmark load: valid protocol messages for a fixed set of topics of one venue, one epoch. */
import { randomInt } from 'node:crypto';
import { HEADER_BYTES, encodeTickRecord, parseTopic, tickTopic, validateTickRecord, writeHeader } from '../../src/wire/index.js';

/** Each topic cycles through a few distinct records, so payloads are not all identical. */
const VARIANTS_PER_TOPIC = 8;

interface Topic {
  readonly frame: Buffer;
  readonly payloads: readonly Buffer[];
  seq: number;
}

/**
 * Messages of a set of topics with per-topic seqs without holes. Payloads are encoded once up
 * front: a benchmark measures the fabric, and a publisher busy with JSON.stringify would cap
 * the offered rate instead.
 */
export class TopicSet {
  /** Random and non-zero, like a real source's per-run epoch. */
  readonly epoch = randomInt(1, 0x1_0000_0000);
  private readonly topics: Topic[];

  constructor(venue: string, symbols: readonly string[]) {
    this.topics = symbols.map((symbol) => makeTopic(venue, symbol));
  }

  get size(): number {
    return this.topics.length;
  }

  /** The next message of topic `index`, stamped `ts`. */
  message(index: number, ts: number): Buffer[] {
    const topic = this.topics[index]!;
    topic.seq++;
    // A fresh header per message: zeromq.js may still hold the previous one while it is queued.
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    writeHeader(header, { flags: 0, epoch: this.epoch, seq: topic.seq, ts });
    return [topic.frame, header, topic.payloads[topic.seq % VARIANTS_PER_TOPIC]!];
  }

  /** The seq each topic's latest message carried (0: never published), by topic index. */
  seqs(): number[] {
    return this.topics.map((topic) => topic.seq);
  }
}

function makeTopic(venue: string, symbol: string): Topic {
  const topic = tickTopic(venue, symbol);
  const parsed = parseTopic(topic);
  const base = 100 + randomInt(0, 900);
  const payloads = Array.from({ length: VARIANTS_PER_TOPIC }, (_, i) => {
    const bid = base + i * 0.25;
    // Validated like any ingest record, so the benchmark never measures invalid traffic.
    const record = validateTickRecord(parsed, {
      venue, symbol, bid, bidSize: 3 + i, ask: bid + 0.25, askSize: 5, last: bid, lastSize: 1,
      volume: 12_345.5 + i, exchTs: Date.now() * 1000,
    });
    return encodeTickRecord(record);
  });
  return { frame: Buffer.from(topic), payloads, seq: 0 };
}
