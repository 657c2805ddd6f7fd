/**
 * Feed status end to end (issue: feed status): a feed's venue goes quiet, the feed publishes
 * `status.<venue>` stale, and a WebSocket client subscribed to that venue's ticks gets the
 * `status` event from the gateway; ticks again bring `up`. The feed role here runs only its
 * ZeroMQ ingest edge, so the test decides when the venue ticks.
 */
import test from 'ava';
import { Push } from 'zeromq';
import { Fabric, type WsClient } from '../gateway/_helpers.js';

const STALE_AFTER_MS = 300;

test('a venue without ticks turns stale and back up, and its WebSocket subscribers hear both from the gateway', async (t) => {
  const fabric = await Fabric.start({
    TICKFAN_FEEDS_SIMULATED_ENABLED: 'false',
    TICKFAN_FEEDS_STALE_AFTER_MS: String(STALE_AFTER_MS),
    TICKFAN_FEEDS_STATUS_REPEAT_MS: '200',
  });
  const push = new Push({ linger: 0 });
  let client: WsClient | undefined;
  try {
    push.connect(fabric.config.feeds.ingest.endpoint);
    const tick = (n: number) => push.send(['tick.E2E.A', JSON.stringify({ venue: 'E2E', symbol: 'A', bid: n, ask: n + 1, exchTs: Date.now() * 1000 })]);
    // PUSH queues until its peer is there: this first tick is not lost to the connect.
    await tick(1);
    const gw = await fabric.gateway();
    client = await gw.join();
    const other = await gw.join();
    await other.request({ op: 'subscribe', id: 1, topics: ['tick.ELSE.*'] });
    const from = client.events.length;
    await client.request({ op: 'subscribe', id: 1, topics: ['tick.E2E.*'] });
    const stale = await client.waitFor((e) => e.type === 'status' && e.venue === 'E2E' && e.state === 'stale', { from, timeoutMs: 10_000, what: 'E2E stale' });
    t.like(stale.event, { type: 'status', venue: 'E2E', state: 'stale' });
    await tick(2);
    await client.waitFor((e) => e.type === 'status' && e.venue === 'E2E' && e.state === 'up', { from: stale.index, timeoutMs: 10_000, what: 'E2E up again' });
    t.deepEqual(other.events.filter((e) => e.type === 'status' && e.venue === 'E2E'), [], 'a client of another venue hears nothing of E2E');
  } finally {
    push.close();
    await fabric.stop();
  }
});
