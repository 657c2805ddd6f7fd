/**
 * Child program: the cheapest feed, for when the load must cost as little as possible. The same
 * 1,000 instruments and records as bench/fanout/feed.ts, but encoded once up front (TopicSet):
 * per tick only a header is written and the three frames queued, no validation or JSON. The
 * same methods as that feed, so either can drive the fabric.
 */
import { XPublisher } from 'zeromq';
import { SendQueue, nowMicros } from '../../src/wire/index.js';
import { serve } from '../common/child.js';
import { Pacer } from '../common/paced.js';
import { BENCH_SOCKETS } from '../common/sockets.js';
import { TopicSet } from '../common/ticks.js';
import { INSTRUMENTS, VENUE, symbolOf } from '../fanout/instruments.js';
import type { Traffic } from '../fanout/cases.js';
import type { FeedCounts, FeedMethods } from '../fanout/feed.js';

/** As bench/fanout/feed.ts: a burst every BURST_MS, bounded queue, generous HWM. */
const BURST_MS = 5;
const QUEUE_LIMIT = 100_000;
const SEND_HWM = 200_000;
/** How long start waits for the proxy to pass the snapshot role's subscription up. */
const SUBSCRIBER_WAIT_MS = 5_000;

const topics = new TopicSet(VENUE, Array.from({ length: INSTRUMENTS }, (_, i) => symbolOf(i)));
let socket: XPublisher | undefined;
let queue: SendQueue | undefined;
let pacer: Pacer | undefined;
let next = 0;
let published = 0;
let timer: NodeJS.Timeout | undefined;

function publishNext(): void {
  if (queue!.push(topics.message(next, nowMicros()))) published++;
  next = (next + 1) % INSTRUMENTS;
}

function burst(): void {
  if (pacer === undefined) return;
  const due = pacer.due();
  for (let i = 0; i < due; i++) publishNext();
  pacer.count(due);
}

/** This feed stands in for the bench feed's ticks only: the fabric bench has no book traffic. */
function ticksOnly(traffic: Traffic): void {
  if (traffic !== 'ticks') throw new Error(`the raw feed publishes ticks only, not ${traffic}`);
}

const methods: FeedMethods = {
  async start(params: { frontend: string }): Promise<void> {
    if (socket !== undefined) throw new Error('the feed is already started');
    socket = new XPublisher({ ...BENCH_SOCKETS, sendHighWaterMark: SEND_HWM });
    queue = new SendQueue(socket, QUEUE_LIMIT);
    socket.connect(params.frontend);
    // An XPUB sees downstream interest arrive; before it, what is sent is dropped (slow joiner).
    const subscribed = socket.receive().then(() => true);
    const late = new Promise<false>((resolve) => setTimeout(resolve, SUBSCRIBER_WAIT_MS, false).unref());
    if (!(await Promise.race([subscribed, late]))) throw new Error(`no subscription reached the feed through ${params.frontend} within ${SUBSCRIBER_WAIT_MS} ms`);
    timer = setInterval(burst, BURST_MS);
  },

  async prime(params: { traffic: Traffic }): Promise<void> {
    ticksOnly(params.traffic);
    for (let i = 0; i < INSTRUMENTS; i++) publishNext();
  },

  async rate(params: { perSecond: number; traffic: Traffic }): Promise<void> {
    ticksOnly(params.traffic);
    pacer = params.perSecond > 0 ? new Pacer(params.perSecond, params.perSecond) : undefined;
  },

  async counts(): Promise<FeedCounts> {
    if (queue === undefined) throw new Error('the feed is not started');
    return { published, dropped: queue.dropped };
  },
};

serve(methods, async () => {
  clearInterval(timer);
  await queue?.flushed();
  socket?.close();
});
