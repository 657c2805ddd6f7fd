/**
 * Child program: the bench feed. The project's own TickPublisher (validation, seq, ts, encoding:
 * the work a real feed does) publishes round-robin over the 1,000 instruments' ticks, or over the
 * 100 books' records (books.ts), at a rate and of the traffic the parent changes between steps,
 * paced by a timer in bounded bursts. For the NATS peer the same ticks go to nats-server instead,
 * through NatsPublisher (the same work, NATS messages).
 */
import { TickPublisher } from '../../src/feeds/publisher.js';
import { createLogger } from '../../src/log/index.js';
import type { TickRecord } from '../../src/wire/index.js';
import { serve } from '../common/child.js';
import { Pacer } from '../common/paced.js';
import { BENCH_SOCKETS } from '../common/sockets.js';
import { BookTraffic } from './books.js';
import type { Traffic } from './cases.js';
import { INSTRUMENTS, VENUE, natsSubjectOf, symbolOf } from './instruments.js';
import { NatsPublisher } from './nats-publisher.js';

/** A burst every BURST_MS: short enough to keep the flow smooth, long enough not to spin. */
const BURST_MS = 5;
/** Each instrument cycles through a few prices, so payloads are not all identical. */
const VARIANTS = 8;
/** The shipped default of feeds.queueLimit (config/default.json): beyond it TickPublisher drops and counts. */
const QUEUE_LIMIT = 100_000;
const SEND_HWM = 200_000;
/** How long connecting waits for the proxy to pass the snapshot role's subscription up. */
const SUBSCRIBER_WAIT_MS = 5_000;

/** About 150 bytes each once encoded, like a real L1 record. */
const records: TickRecord[][] = Array.from({ length: INSTRUMENTS }, (_, i) => {
  const base = 100 + (i % 900);
  return Array.from({ length: VARIANTS }, (_, v) => {
    const bid = base + v * 0.25;
    return {
      venue: VENUE, symbol: symbolOf(i), bid, bidSize: 3 + v, ask: bid + 0.25, askSize: 5,
      last: bid, lastSize: 1, volume: 12_345.5 + v, exchTs: 1_764_070_000_123_456 + v,
    };
  });
});

/** Where the ticks go: the fabric's proxy frontend, or nats-server. */
export type FeedTarget = { readonly frontend: string } | { readonly natsPort: number };

let publisher: TickPublisher | NatsPublisher | undefined;
let pacer: Pacer | undefined;
let traffic: Traffic = 'ticks';
/** Made on first use: its records take about a second to make, which the cases without books need not wait for. */
let books: BookTraffic | undefined;
let next = 0;
let round = 0;
let timer: NodeJS.Timeout | undefined;

function publishTick(): void {
  publisher!.publish(records[next]![round % VARIANTS]!);
  if (++next === INSTRUMENTS) {
    next = 0;
    round++;
  }
}

function bookPublisher(): { publisher: TickPublisher; books: BookTraffic } {
  if (!(publisher instanceof TickPublisher)) throw new Error('books go to the fabric only: the NATS peer has no book traffic');
  books ??= new BookTraffic();
  return { publisher, books };
}

/** Through offer, as a feed adapter's sink does: validated, sequenced and encoded like every book record. */
function publishBook(): void {
  const { publisher, books } = bookPublisher();
  publisher.offer('book', books.next(), '');
}

function burst(): void {
  if (pacer === undefined) return;
  const due = pacer.due();
  const publishNext = traffic === 'books' ? publishBook : publishTick;
  for (let i = 0; i < due; i++) publishNext();
  pacer.count(due);
  flush();
}

function flush(): void {
  if (publisher instanceof NatsPublisher) publisher.flush();
}

export interface FeedCounts {
  readonly published: number;
  /** Dropped by TickPublisher's bounded queue: the proxy did not take them fast enough. */
  readonly dropped: number;
}

const methods = {
  async start(target: FeedTarget): Promise<void> {
    if (publisher !== undefined) throw new Error('the feed is already started');
    if ('natsPort' in target) {
      publisher = await NatsPublisher.connect(target.natsPort, natsSubjectOf);
    } else {
      const zmq = new TickPublisher(
        { endpoints: [target.frontend], sendHwm: SEND_HWM, queueLimit: QUEUE_LIMIT, socket: BENCH_SOCKETS, subscriberWaitMs: SUBSCRIBER_WAIT_MS },
        createLogger('warn'),
      );
      publisher = zmq;
      await zmq.connect();
    }
    timer = setInterval(burst, BURST_MS);
  },

  /**
   * One tick of every instrument, or the snapshot of every book not opened yet (a book starts
   * with its snapshot), so the snapshot role holds them all before any client subscribes.
   */
  async prime(params: { traffic: Traffic }): Promise<void> {
    if (params.traffic === 'books') {
      const { publisher, books } = bookPublisher();
      for (const snapshot of books.openings()) publisher.offer('book', snapshot, '');
      return;
    }
    for (let i = 0; i < INSTRUMENTS; i++) publishTick();
    flush();
  },

  /** Publishes `perSecond` records of `traffic` a second from now on (0: none). */
  async rate(params: { perSecond: number; traffic: Traffic }): Promise<void> {
    traffic = params.traffic;
    // Up to a second behind is made up, as a feed handler would publish what the exchange sent
    // meanwhile: this process shares the cores too, and a step should offer what it asks.
    pacer = params.perSecond > 0 ? new Pacer(params.perSecond, params.perSecond) : undefined;
  },

  async counts(): Promise<FeedCounts> {
    if (publisher === undefined) throw new Error('the feed is not started');
    return { published: publisher.published, dropped: publisher.dropped };
  },
};

export type FeedMethods = typeof methods;

serve(methods, async () => {
  clearInterval(timer);
  await publisher?.close();
});
