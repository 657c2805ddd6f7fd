/**
 * Slow consumers (PROTOCOL.md section 5, `conflate`): clients that stop reading while a
 * simulated feed publishes a few thousand ticks per second through a real proxy into a real
 * gateway. With conflation the gateway keeps at most one pending event per topic for such a
 * client and it ends holding the latest state; with conflate:false it is closed with 4008; a
 * client that keeps reading beside them gets every tick.
 */
import test from 'ava';
import { SimulatedFeed, type Instrument } from '../../src/feeds/index.js';
import { tickSink } from '../helpers/sinks.js';
import type { Session } from '../../src/gateway/session.js';
import { Fabric, quietFor, seqsByTopic, type TickEvent, type WsClient } from './_helpers.js';

const TOPICS = 20;
const RATE = 2500;
/**
 * An extra field (passed through verbatim, PROTOCOL.md section 2) makes each event about 1 KB,
 * so the few MB the loopback socket buffers absorb before TCP pushes back fill in a second or two.
 */
const PAD = 'p'.repeat(800);
const HIGH_WATER = 16 * 1024;
const MAX_QUEUED = 50;

test('a client that stops reading: conflated to one pending event per topic and then the latest state (default), or closed with 4008 (conflate:false); a fast client beside it keeps its rate', async (t) => {
  const fabric = await Fabric.start({}, ['proxy', 'snapshot']);
  t.teardown(() => fabric.stop());
  const gw = await fabric.gateway({
    TICKFAN_GATEWAY_BUFFERED_HIGH_WATER_BYTES: String(HIGH_WATER),
    TICKFAN_GATEWAY_MAX_QUEUED_EVENTS: String(MAX_QUEUED),
  });
  const publisher = await fabric.publisher();
  const instruments: Instrument[] = Array.from({ length: TOPICS }, (_, i) => ({ venue: 'SLOW', symbol: `S${i}`, tickSize: 0.01, startPrice: 100 + i, lotSize: 1 }));
  const feed = new SimulatedFeed({ instruments, rate: RATE, seed: 3 });
  /** The source's newest seq per topic: the publisher numbers each topic 1, 2, 3, ... */
  const published = new Map<string, number>();
  let publishedTotal = 0;
  await feed.start(tickSink((record) => {
    if (!publisher.publish({ ...record, pad: PAD })) return;
    const topic = `tick.SLOW.${record.symbol}`;
    published.set(topic, (published.get(topic) ?? 0) + 1);
    publishedTotal++;
  }));
  t.teardown(() => feed.stop());

  const fast = await gw.join();
  const conflated = await gw.join();
  const strict = await gw.join();
  const sessionOf = (client: WsClient): Session => gw.gateway.sessions.find((s) => s.id === client.events[0]!.session)!;
  const subscribed = await Promise.all([
    fast.request({ op: 'subscribe', id: 1, topics: ['tick.SLOW.*'], conflate: false }),
    conflated.request({ op: 'subscribe', id: 1, topics: ['tick.SLOW.*'] }),
    strict.request({ op: 'subscribe', id: 1, topics: ['tick.SLOW.*'], conflate: false }),
  ]);
  t.true(subscribed.every((e) => e.type === 'subscribed'));
  for (const client of [fast, conflated, strict]) await client.until(() => client.data().length >= 200, 10_000, () => 'ticks flowing');

  // Both slow clients stop reading.
  conflated.pause();
  strict.pause();
  const start = { fast: fast.data().length, published: publishedTotal, at: performance.now() };
  const conflatedSession = sessionOf(conflated);
  const strictSession = sessionOf(strict);
  let maxPendingConflating = 0;
  let bufferedWhenBehind = 0;
  let maxBuffered = 0;
  let samples = 0;
  let behind = false;
  const deadline = performance.now() + 20_000;
  while (gw.gateway.counters.slowConsumerCloses < 1 || !conflatedSession.conflating || samples < 25) {
    if (performance.now() > deadline) {
      throw new Error(`behind not detected: slowConsumerCloses ${gw.gateway.counters.slowConsumerCloses}, conflating ${conflatedSession.conflating}, samples ${samples}`);
    }
    if (!behind && conflatedSession.conflating) {
      behind = true;
      bufferedWhenBehind = conflatedSession.bufferedBytes;
    }
    if (behind) {
      maxPendingConflating = Math.max(maxPendingConflating, conflatedSession.pending);
      maxBuffered = Math.max(maxBuffered, conflatedSession.bufferedBytes);
      samples++;
    }
    await quietFor(20);
  }
  const end = { fast: fast.data().length, published: publishedTotal, at: performance.now() };

  // The conflating client: bounded by its topics, in events and in bytes.
  t.true(maxPendingConflating <= TOPICS, `at most one pending event per topic once behind (max ${maxPendingConflating})`);
  t.is(maxBuffered, bufferedWhenBehind, 'nothing more is written to the stuck socket once behind');
  t.true(bufferedWhenBehind > HIGH_WATER);
  t.true(conflatedSession.counters.conflated > 0);
  t.is(conflated.closeCode, undefined, 'a conflating client is not closed');
  // The fast client kept its rate while the others were stuck.
  const fastRate = (end.fast - start.fast) / (end.published - start.published);
  t.true(fastRate > 0.7, `the fast client got ${(fastRate * 100).toFixed(0)}% of the ticks published while the others were stuck (${((end.at - start.at) / 1000).toFixed(1)} s)`);
  t.is(strictSession.pending, 0, 'the closed client holds nothing');

  // The conflate:false client, reading again, finds the 4008 close.
  strict.resume();
  t.is((await strict.closed).code, 4008);
  t.is(gw.gateway.counters.slowConsumerCloses, 1);

  // The conflating client reads again; once the feed stops it holds every topic's latest state.
  conflated.resume();
  await conflated.until(() => conflatedSession.conflating === false && conflated.data().length > end.fast - start.fast, 10_000, () => 'catching up');
  await feed.stop();
  const finalState = new Map(published);
  const caughtUp = (client: WsClient): boolean => {
    const latest = new Map<string, number>();
    for (const e of client.data()) latest.set(e.topic, e.seq);
    return [...finalState].every(([topic, seq]) => latest.get(topic) === seq);
  };
  await conflated.until(() => caughtUp(conflated), 10_000, () => 'the conflating client to hold the latest state');
  await fast.until(() => caughtUp(fast), 10_000, () => 'the fast client to hold the latest state');

  const lastOf = (client: WsClient): Map<string, TickEvent> => new Map(client.data().map((e) => [e.topic, e]));
  const conflatedLast = lastOf(conflated);
  for (const [topic, event] of lastOf(fast)) t.deepEqual(conflatedLast.get(topic)!.data, event.data, `${topic}: the same latest record`);
  // Ordering: the conflating client skipped seqs but never went back or repeated one.
  for (const [topic, seqs] of seqsByTopic(conflated.data())) {
    t.true(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!), `${topic}: strictly increasing seqs`);
  }
  t.true(conflated.data().length < fast.data().length, 'the conflating client got fewer events than were published');
  // The fast client (conflate:false) got every tick: contiguous per topic from its snapshot on.
  for (const [topic, seqs] of seqsByTopic(fast.data())) {
    t.true(seqs.every((seq, i) => i === 0 || seq === seqs[i - 1]! + 1), `${topic}: contiguous`);
  }
  t.is(fast.closeCode, undefined);
  for (const client of [fast, conflated, strict]) t.deepEqual(client.badFrames, []);
});

/** Polls `done` every 20 ms (the gateway's counters have no event to await) until it holds, at most `ms`. */
async function pollUntil(done: () => boolean, ms: number, what: () => string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what()}`);
    await quietFor(20);
  }
}

test('a conflate:false client that stops reading before it has queued maxQueuedEvents is closed by the ping check as a slow consumer: counted as 4008, not 1006', async (t) => {
  const fabric = await Fabric.start({}, ['proxy', 'snapshot']);
  t.teardown(() => fabric.stop());
  const pingIntervalMs = 2000;
  const gw = await fabric.gateway({
    TICKFAN_GATEWAY_BUFFERED_HIGH_WATER_BYTES: String(HIGH_WATER),
    // Never reached here: only the ping check can find this client.
    TICKFAN_GATEWAY_MAX_QUEUED_EVENTS: '10000000',
    TICKFAN_GATEWAY_PING_INTERVAL_MS: String(pingIntervalMs),
  });
  const publisher = await fabric.publisher();
  const instruments: Instrument[] = Array.from({ length: 5 }, (_, i) => ({ venue: 'STUCK', symbol: `S${i}`, tickSize: 0.01, startPrice: 100 + i, lotSize: 1 }));
  // About 8 MB/s: the loopback buffers fill well within one ping interval.
  const feed = new SimulatedFeed({ instruments, rate: 500, seed: 5 });
  const bigPad = 'p'.repeat(16 * 1024);
  await feed.start(tickSink((record) => void publisher.publish({ ...record, pad: bigPad })));
  t.teardown(() => feed.stop());

  const stuck = await gw.join();
  t.is((await stuck.request({ op: 'subscribe', id: 1, topics: ['tick.STUCK.*'], conflate: false })).type, 'subscribed');
  await stuck.until(() => stuck.data().length >= 20, 10_000, () => 'ticks flowing');
  const session = gw.gateway.sessions.find((s) => s.id === stuck.events[0]!.session)!;
  stuck.pause();
  await pollUntil(() => session.bufferedBytes > HIGH_WATER, pingIntervalMs, () => `the client to fall behind (buffered ${session.bufferedBytes})`);
  // Two checks close it (no pong to the last ping, behind), a third drops the peer that never answers the close.
  await pollUntil(() => gw.gateway.connections === 0, 5 * pingIntervalMs, () => `the stuck client to be gone (closed: ${JSON.stringify([...gw.gateway.counters.closedByCode])})`);
  t.deepEqual([...gw.gateway.counters.closedByCode], [[4008, 1]], 'counted as the slow-consumer close the gateway sent');
  t.is(gw.gateway.counters.slowConsumerCloses, 1);
});
