/**
 * `since` beyond the gateway's own history, answered from the snapshot service's REPLAY
 * (PROTOCOL.md sections 4 and 5): a real gateway, proxy and snapshot service in this process,
 * publishers the test drives, raw WebSocket clients.
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import type { TickPublisher } from '../../src/feeds/index.js';
import { Fabric, isData, publish, quietFor, WsClient, type TickEvent, checkEveryFrame } from './_helpers.js';

const test = anyTest as TestFn<{ clients: WsClient[] }>;

/** Messages per topic the snapshot service retains for REPLAY (its default), which the GONE test outruns. */
const SERVICE_HISTORY = 1000;

let fabric: Fabric;

test.before(async () => {
  fabric = await Fabric.start({ TICKFAN_SNAPSHOT_HISTORY_PER_TOPIC: String(SERVICE_HISTORY) }, ['proxy', 'snapshot']);
});

test.after.always(async () => {
  await fabric?.stop();
});

checkEveryFrame(test);

/** Publishes seqs up to `last` of `tick.<venue>.<symbol>` (the publisher counts from 1) and waits until the snapshot service holds them. */
async function publishUpTo(publisher: TickPublisher, venue: string, symbol: string, from: number, last: number): Promise<void> {
  for (let n = from; n <= last; n++) publish(publisher, venue, symbol, n);
  await fabric.settled(`tick.${venue}.${symbol}`, publisher.epoch, last);
}

/** The data events of `topic` from index `from` on, as `type:seq`. */
function shown(client: WsClient, topic: string, from: number): string[] {
  return client.data(from).filter((e) => e.topic === topic).map((e) => `${e.type}:${e.seq}`);
}

function ticks(from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => `tick:${from + i}`);
}

/** Each topic's data events: contiguous ticks right after `since`, or (when allowed) one snapshot then contiguous ticks. */
function checkResumed(t: ExecutionContext, events: readonly TickEvent[], since: number, last: number, what: string): 'replay' | 'snapshot' {
  const seqs = events.map((e) => e.seq);
  const kinds = events.map((e) => e.type);
  if (kinds[0] === 'snapshot') {
    t.true(kinds.slice(1).every((kind) => kind === 'tick') && seqs.every((seq, i) => i === 0 || seq === seqs[i - 1]! + 1), `${what}: a snapshot, then contiguous ticks`);
    return 'snapshot';
  }
  t.deepEqual(events.map((e) => `${e.type}:${e.seq}`), ticks(since + 1, last), `${what}: every missed seq as a tick, in order, once`);
  return 'replay';
}

test('a fresh gateway answers since with the REPLAYed ticks, then continues live without a hole or a repeat while ticks keep arriving', async (t) => {
  const gw = await fabric.gatewayFor(t, { TICKFAN_GATEWAY_HISTORY_PER_TOPIC: '8' });
  const publisher = await fabric.publisher();
  const topic = 'tick.RPL.A';
  await publishUpTo(publisher, 'RPL', 'A', 1, 30);
  // Another client makes the gateway follow the topic from seq 30 on: its history (8 ticks) never reaches back to 6.
  const holder = await gw.join();
  await holder.request({ op: 'subscribe', id: 1, topics: [topic] });

  // Ticks keep coming while the resume is answered: the REPLAY is in flight while live ticks
  // of the very topic reach the gateway.
  let n = 30;
  const LAST = 400;
  const pace = setInterval(() => {
    for (let i = 0; i < 2 && n < LAST; i++) publish(publisher, 'RPL', 'A', ++n);
    if (n >= LAST) clearInterval(pace);
  }, 1);
  t.teardown(() => clearInterval(pace));
  await holder.waitFor((e) => isData(e) && e.seq >= 40);

  const client = await gw.join();
  const from = client.events.length;
  const answer = await client.request({ op: 'subscribe', id: 1, topics: ['tick.RPL.*'], conflate: false, since: { [topic]: { epoch: publisher.epoch, seq: 5 } } });
  t.is(answer.type, 'subscribed');
  await client.waitFor((e) => isData(e) && e.seq === LAST, { from, timeoutMs: 10_000, what: `seq ${LAST}` });
  t.deepEqual(shown(client, topic, from), ticks(6, LAST), 'seqs 6.. from REPLAY, then the live ones, each once, in order, as ticks: no snapshot');
  t.is(gw.gateway.counters.resumes.get('replay'), 1);
  t.is(gw.gateway.counters.resumes.get('snapshot'), undefined);
  t.true(gw.gateway.replayer!.results.get('ok')! >= 1);
});

test('GONE (the service no longer retains the seq) or another epoch: a fresh snapshot, then live ticks', async (t) => {
  const gw = await fabric.gatewayFor(t);
  const publisher = await fabric.publisher();
  const topic = 'tick.RPG.A';
  await publishUpTo(publisher, 'RPG', 'A', 1, SERVICE_HISTORY + 50);
  const last = SERVICE_HISTORY + 50;

  const client = await gw.join();
  const s = client.events.length;
  await client.request({ op: 'subscribe', id: 1, topics: [topic], since: { [topic]: { epoch: publisher.epoch, seq: 10 } } });
  await client.waitFor((e) => isData(e) && e.topic === topic, { from: s });
  await quietFor(150);
  t.deepEqual(shown(client, topic, s), [`snapshot:${last}`], 'seq 11 is older than what the service retains');
  t.is(gw.gateway.replayer!.results.get('gone'), 1);
  t.is(gw.gateway.counters.resumes.get('snapshot'), 1);

  const other = await gw.join();
  const o = other.events.length;
  await other.request({ op: 'subscribe', id: 1, topics: [topic], since: { [topic]: { epoch: publisher.epoch + 1, seq: 10 } } });
  await other.waitFor((e) => isData(e) && e.topic === topic, { from: o });
  t.deepEqual(shown(other, topic, o), [`snapshot:${last}`], 'another epoch: no REPLAY can answer it');
  t.is(gw.gateway.replayer!.results.get('gone'), 1, 'and none was asked');

  publish(publisher, 'RPG', 'A', last + 1);
  await client.waitFor((e) => isData(e) && e.seq === last + 1, { from: s });
  t.deepEqual(shown(client, topic, s), [`snapshot:${last}`, `tick:${last + 1}`]);
});

test('many clients resuming many topics at once share REPLAY requests, at most replayConcurrency in flight, and each gets every missed seq', async (t) => {
  const TOPICS = 200;
  const CLIENTS = 5;
  const LAST = 20;
  const gw = await fabric.gatewayFor(t, { TICKFAN_GATEWAY_REPLAY_CONCURRENCY: '2' });
  const publisher = await fabric.publisher();
  const topics = Array.from({ length: TOPICS }, (_, i) => `tick.RPM.T${i}`);
  for (let n = 1; n <= LAST; n++) for (let i = 0; i < TOPICS; i++) publish(publisher, 'RPM', `T${i}`, n);
  for (const topic of topics) await fabric.settled(topic, publisher.epoch, LAST);

  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => gw.join()));
  // Each client stands somewhere else, the later ones further back: requests are joined and widened.
  const sinceOf = (c: number) => 8 - c;
  const froms = clients.map((client) => client.events.length);
  let maxInFlight = 0;
  const watch = setInterval(() => (maxInFlight = Math.max(maxInFlight, gw.gateway.replayer!.inFlightCount)), 1);
  t.teardown(() => clearInterval(watch));
  clients.forEach((client, c) => client.send({
    op: 'subscribe', id: 1, topics: ['tick.RPM.*'], conflate: false,
    since: Object.fromEntries(topics.map((topic) => [topic, { epoch: publisher.epoch, seq: sinceOf(c) }])),
  }));
  await Promise.all(clients.map((client, c) => client.until(
    () => topics.every((topic) => client.data(froms[c]!).some((e) => e.topic === topic && e.seq === LAST)),
    20_000, () => `client ${c} to get seq ${LAST} of every topic`,
  )));
  clearInterval(watch);
  clients.forEach((client, c) => {
    for (const topic of topics) checkResumed(t, client.data(froms[c]!).filter((e) => e.topic === topic), sinceOf(c), LAST, `client ${c} ${topic}`);
  });
  const results = gw.gateway.replayer!.results;
  t.is(gw.gateway.counters.resumes.get('replay'), TOPICS * CLIENTS, 'every resume answered by REPLAY');
  t.true(results.get('ok')! < (TOPICS * CLIENTS) / 2, `${results.get('ok')} REPLAY requests for ${TOPICS * CLIENTS} resumes`);
  t.log(`${results.get('ok')} REPLAY requests answered ${TOPICS * CLIENTS} resumes; at most ${maxInFlight} in flight`);
  t.true(maxInFlight >= 1 && maxInFlight <= 2, `at most replayConcurrency in flight (${maxInFlight})`);
  t.is(gw.gateway.replayer!.waitingCount + gw.gateway.replayer!.inFlightCount, 0, 'nothing left pending');
});

test('beyond maxQueuedReplays a resume gets a snapshot instead: never a hole', async (t) => {
  const TOPICS = 40;
  const LAST = 10;
  const gw = await fabric.gatewayFor(t, { TICKFAN_GATEWAY_REPLAY_CONCURRENCY: '1', TICKFAN_GATEWAY_MAX_QUEUED_REPLAYS: '5' });
  const publisher = await fabric.publisher();
  const topics = Array.from({ length: TOPICS }, (_, i) => `tick.RPQ.T${i}`);
  for (let n = 1; n <= LAST; n++) for (let i = 0; i < TOPICS; i++) publish(publisher, 'RPQ', `T${i}`, n);
  for (const topic of topics) await fabric.settled(topic, publisher.epoch, LAST);

  const client = await gw.join();
  const from = client.events.length;
  client.send({ op: 'subscribe', id: 1, topics: ['tick.RPQ.*'], since: Object.fromEntries(topics.map((topic) => [topic, { epoch: publisher.epoch, seq: 2 }])) });
  await client.until(() => topics.every((topic) => client.data(from).some((e) => e.topic === topic && e.seq === LAST)), 10_000, () => 'every topic at its last seq');
  const outcomes = topics.map((topic) => checkResumed(t, client.data(from).filter((e) => e.topic === topic), 2, LAST, topic));
  const { resumes } = gw.gateway.counters;
  t.is(outcomes.filter((o) => o === 'replay').length, resumes.get('replay') ?? 0);
  t.is(outcomes.filter((o) => o === 'snapshot').length, resumes.get('snapshot') ?? 0);
  t.is(resumes.get('replay'), 6, 'one in flight and five waiting were replayed');
  t.is(gw.gateway.replayer!.results.get('queue_full'), TOPICS - 6);
});

test('gateway.maxQueuedReplays 0: no REPLAY, a resume beyond the history gets a snapshot as before', async (t) => {
  const gw = await fabric.gatewayFor(t, { TICKFAN_GATEWAY_MAX_QUEUED_REPLAYS: '0' });
  const publisher = await fabric.publisher();
  const topic = 'tick.RPZ.A';
  await publishUpTo(publisher, 'RPZ', 'A', 1, 5);
  const client = await gw.join();
  const s = client.events.length;
  await client.request({ op: 'subscribe', id: 1, topics: [topic], since: { [topic]: { epoch: publisher.epoch, seq: 2 } } });
  await client.waitFor((e) => isData(e) && e.topic === topic, { from: s });
  t.deepEqual(shown(client, topic, s), ['snapshot:5']);
  t.is(gw.gateway.replayer, undefined);
  t.is(gw.gateway.counters.resumes.get('snapshot'), 1);
});

test('a client that unsubscribes while its REPLAY is in flight gets nothing of the topic afterwards', async (t) => {
  const gw = await fabric.gatewayFor(t);
  const publisher = await fabric.publisher();
  const topic = 'tick.RPU.A';
  await publishUpTo(publisher, 'RPU', 'A', 1, 50);
  const client = await gw.join();
  const s = client.events.length;
  // Both requests go at once: the unsubscribe is answered right after the subscribe, before the REPLAY's answer.
  client.send({ op: 'subscribe', id: 1, topics: [topic], since: { [topic]: { epoch: publisher.epoch, seq: 3 } } });
  client.send({ op: 'unsubscribe', id: 2, topics: [topic] });
  await client.waitFor((e) => e.type === 'unsubscribed', { from: s });
  await quietFor(200);
  const after = client.events.findIndex((e, i) => i >= s && e.type === 'unsubscribed');
  t.deepEqual(client.data(after), [], 'nothing of the topic after unsubscribed');
});
