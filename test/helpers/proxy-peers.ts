/**
 * Peers of a proxy for tests: a feed that also records the interest reaching it, and a plain
 * SUB that records what it receives.
 */
import { randomInt } from 'node:crypto';
import { Subscriber, XPublisher } from 'zeromq';
import { decodeMessage, encodeMessage, encodeTickRecord, nowMicros } from '../../src/wire/index.js';
import { Conditions } from './conditions.js';

const WAIT_MS = 10_000;

/** A source publishing valid 3-frame messages on its XPUB, recording each subscription (+prefix) and unsubscription (-prefix) it is sent. */
export class ObservingFeed {
  readonly interest: string[] = [];
  private readonly conditions = new Conditions();
  /** A new one per feed, as a restarted source has (PROTOCOL.md section 3). */
  private readonly epoch = randomInt(1, 0x1_0000_0000);
  private readonly seqs = new Map<string, number>();

  /** A feed on a proxy frontend. */
  static connectedTo(endpoint: string): ObservingFeed {
    const socket = new XPublisher({ linger: 0 });
    socket.connect(endpoint);
    return new ObservingFeed(socket);
  }

  constructor(private readonly socket: XPublisher) {
    void (async () => {
      for await (const [frame] of this.socket) {
        this.interest.push(`${frame![0] === 1 ? '+' : '-'}${frame!.subarray(1).toString()}`);
        this.conditions.check();
      }
    })();
  }

  /** Resolves once `entry` (say "+tick.SIM.") has arrived `times` times in all. */
  heard(entry: string, times = 1): Promise<void> {
    return this.conditions.until(() => this.interest.filter((e) => e === entry).length >= times, WAIT_MS,
      () => `${times} x ${entry} at the feed; heard ${JSON.stringify(this.interest)}`);
  }

  /** Publishes one tick of each topic in turn, `rounds` times, ending with the first topic; returns what it sent as topic#epoch:seq. */
  async publishRounds(topics: readonly string[], rounds: number): Promise<string[]> {
    const sent: string[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const topic of topics) {
        const seq = (this.seqs.get(topic) ?? 0) + 1;
        this.seqs.set(topic, seq);
        const [, venue, symbol] = topic.split('.');
        await this.socket.send([...encodeMessage(topic, { flags: 0, epoch: this.epoch, seq, ts: nowMicros() }, encodeTickRecord({ venue: venue!, symbol: symbol!, last: seq }))]);
        sent.push(`${topic}#${this.epoch}:${seq}`);
      }
    }
    return sent;
  }

  close(): void {
    this.socket.close();
  }
}

/** A plain SUB on a proxy backend that decodes every message and records it as topic#epoch:seq. */
export class RecordingSubscriber {
  readonly received: string[] = [];
  private readonly socket = new Subscriber({ linger: 0 });
  private readonly conditions = new Conditions();

  constructor(endpoint: string, ...prefixes: string[]) {
    this.socket.connect(endpoint);
    this.socket.subscribe(...prefixes);
    void (async () => {
      for await (const frames of this.socket) {
        const message = decodeMessage(frames);
        this.received.push(`${message.topic}#${message.header.epoch}:${message.header.seq}`);
        this.conditions.check();
      }
    })();
  }

  /** Resolves once `count` messages have arrived in all. */
  got(count: number): Promise<void> {
    return this.conditions.until(() => this.received.length >= count, WAIT_MS, () => `${count} messages at the subscriber; got ${this.received.length}: ${this.received.slice(-5).join(' ')}`);
  }

  close(): void {
    this.socket.close();
  }
}

/** Everything a test started, closed in reverse whatever happens. */
export function cleanup(t: { teardown(fn: () => Promise<void>): void }) {
  const closers: (() => unknown)[] = [];
  t.teardown(async () => {
    for (const close of closers.reverse()) await close();
  });
  return <T extends { close(): unknown }>(thing: T): T => {
    closers.push(() => thing.close());
    return thing;
  };
}
