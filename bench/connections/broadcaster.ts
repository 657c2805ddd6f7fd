/**
 * Child program: the benchmark's feed. It publishes, when told, one tick of the topic every
 * client follows, through the project's TickPublisher (epoch, seq, ts as a real feed has them).
 */
import { TickPublisher } from '../../src/feeds/publisher.js';
import { createLogger } from '../../src/log/index.js';
import { serve } from '../common/child.js';
import { BENCH_SOCKETS } from '../common/sockets.js';

const SEND_HWM = 1_000;
const QUEUE_LIMIT = 1_000;
/** How long connecting waits for the proxy to pass the snapshot role's subscription up. */
const SUBSCRIBER_WAIT_MS = 5_000;

let publisher: TickPublisher | undefined;
let seq = 0;

const methods = {
  async start(p: { frontend: string }): Promise<void> {
    publisher = new TickPublisher(
      { endpoints: [p.frontend], sendHwm: SEND_HWM, queueLimit: QUEUE_LIMIT, socket: BENCH_SOCKETS, subscriberWaitMs: SUBSCRIBER_WAIT_MS },
      createLogger('warn'),
    );
    await publisher.connect();
  },

  /** Publishes the next tick of venue.symbol; resolves with its seq. */
  async publish(p: { venue: string; symbol: string }): Promise<{ seq: number }> {
    if (publisher === undefined) throw new Error('the broadcaster is not started');
    const bid = 100 + seq * 0.25;
    const record = { venue: p.venue, symbol: p.symbol, bid, bidSize: 1, ask: bid + 0.25, askSize: 1, last: bid, lastSize: 1, volume: seq, exchTs: Date.now() * 1000 };
    if (!publisher.publish(record)) throw new Error('the tick was rejected or dropped');
    return { seq: ++seq };
  },
};

export type BroadcasterMethods = typeof methods;

serve(methods, async () => {
  await publisher?.close();
});
