/**
 * PROTOCOL.md section 5, as a raw WebSocket client sees it: a real gateway (started as the role
 * is) on a real proxy, snapshot service and simulated feed in this process, on ipc endpoints and
 * a free port. Every frame every client receives is checked to be a JSON array of events.
 */
import anyTest, { type TestFn } from 'ava';
import { nowMicros } from '../../src/wire/index.js';
import {
  Fabric, instruments, isData, publish, quietFor, seqsByTopic, VERSION, WsClient, type ServerEvent, type TickEvent, checkEveryFrame,
} from './_helpers.js';

const test = anyTest as TestFn<{ clients: WsClient[] }>;

const SIM = ['tick.SIM.BTC-USD', 'tick.SIM.ETH-USD', 'tick.SIM.SOL-USD', 'tick.SIM.XRP-USD'];
const SIMEQ = ['tick.SIMEQ.AAPL', 'tick.SIMEQ.MSFT'];
/** Ticks per second over the 6 simulated instruments: about 100 per topic. */
const RATE = 600;

let fabric: Fabric;

test.before(async () => {
  fabric = await Fabric.start({
    TICKFAN_FEEDS_SIMULATED_INSTRUMENTS: instruments({ SIM: ['BTC-USD', 'ETH-USD', 'SOL-USD', 'XRP-USD'], SIMEQ: ['AAPL', 'MSFT'] }),
    TICKFAN_FEEDS_SIMULATED_RATE: String(RATE),
    TICKFAN_FEEDS_SIMULATED_SEED: '7',
    // Every venue of these tests but LST (the list test's): what a gateway lists of LST can only
    // come from its own cache.
    TICKFAN_SNAPSHOT_PREFIXES: 'tick.S,tick.R,tick.N',
  });
  // The snapshot service holds every simulated topic before any test subscribes.
  for (const topic of [...SIM, ...SIMEQ]) {
    for (let at = await fabric.position(topic); at === undefined; at = await fabric.position(topic)) await quietFor(10);
  }
});

test.after.always(async () => {
  await fabric?.stop();
});

checkEveryFrame(test);

const gateway = (t: { context: { clients: WsClient[] } }, env: Record<string, string> = {}) => fabric.gatewayFor(t, env);

/** Sends a subscribe and waits for its answer; `from` is the index of the first event after the request. */
async function subscribe(client: WsClient, request: Record<string, unknown>): Promise<{ answer: ServerEvent; from: number }> {
  const from = client.events.length;
  const answer = await client.request({ op: 'subscribe', ...request });
  return { answer, from };
}

/** Checks the ticks of each topic after its snapshot: seq above it, contiguous, one epoch. */
function checkContiguous(t: import('ava').ExecutionContext, events: readonly TickEvent[]): void {
  for (const [topic, seqs] of seqsByTopic(events)) {
    for (let i = 1; i < seqs.length; i++) {
      if (seqs[i] !== seqs[i - 1]! + 1) {
        t.fail(`${topic}: seq ${seqs[i]} after ${seqs[i - 1]} (${seqs.slice(Math.max(0, i - 3), i + 3).join(',')})`);
        return;
      }
    }
  }
  t.pass();
}

test('welcome: the first frame carries session, server and heartbeatMs', async (t) => {
  const gw = await gateway(t, { TICKFAN_GATEWAY_HEARTBEAT_MS: '7000' });
  const a = await gw.join();
  const b = await gw.join();
  const welcome = a.events[0]!;
  t.is(welcome.type, 'welcome');
  t.deepEqual(Object.keys(welcome).sort(), ['heartbeatMs', 'server', 'session', 'type']);
  t.is(typeof welcome.session, 'string');
  t.true((welcome.session as string).length >= 8);
  t.is(welcome.server, `tickfan/${VERSION}`);
  t.is(welcome.heartbeatMs, 7000);
  t.not(b.events[0]!.session, welcome.session, 'each connection has its own session');
});

test('subscribe: subscribed (numeric id echoed), a snapshot of every matching topic, then contiguous ticks above it', async (t) => {
  const gw = await gateway(t);
  const client = await gw.join();
  const { answer, from } = await subscribe(client, { id: 1, topics: ['tick.SIM.*'], conflate: false });
  t.deepEqual(answer, { type: 'subscribed', id: 1, topics: ['tick.SIM.*'] });
  // Every topic ticks at about 100/s: wait for 20 ticks of each.
  await client.until(() => SIM.every((topic) => client.data(from).filter((e) => e.topic === topic && e.type === 'tick').length >= 20), 10_000, () => 'ticks of every SIM topic');
  const data = client.data(from);
  t.true(client.events.indexOf(answer) < client.events.indexOf(data[0]!), 'subscribed comes before the first data event');
  t.true(data.every((e) => e.topic.startsWith('tick.SIM.')), 'only matching topics');
  t.deepEqual([...new Set(data.map((e) => e.topic))].sort(), SIM);
  for (const topic of SIM) {
    const events = data.filter((e) => e.topic === topic);
    t.is(events[0]!.type, 'snapshot', `${topic}: a snapshot before any tick`);
    t.is(events.filter((e) => e.type === 'snapshot').length, 1, `${topic}: one snapshot`);
    t.true(events[1]!.seq > events[0]!.seq, `${topic}: ticks follow with seq > the snapshot's`);
    t.true(events.every((e) => e.epoch === events[0]!.epoch));
    const { data: record } = events[0]!;
    t.is(`tick.${String(record.venue)}.${String(record.symbol)}`, topic, 'data is the record of the topic');
    t.true(Number.isSafeInteger(events[0]!.ts) && events[0]!.ts > 1.6e15, 'ts is the header ts in microseconds');
  }
  checkContiguous(t, data);
});

test('subscribe: a string id is echoed; an exact topic gets only that topic', async (t) => {
  const gw = await gateway(t);
  const client = await gw.join();
  const { answer, from } = await subscribe(client, { id: 'sub-1', topics: ['tick.SIMEQ.AAPL'], conflate: false });
  t.deepEqual(answer, { type: 'subscribed', id: 'sub-1', topics: ['tick.SIMEQ.AAPL'] });
  await client.until(() => client.data(from).length >= 10);
  const data = client.data(from);
  t.true(data.every((e) => e.topic === 'tick.SIMEQ.AAPL'));
  t.is(data[0]!.type, 'snapshot');
  t.true(data.slice(1).every((e) => e.type === 'tick'));
  checkContiguous(t, data);
});

test('subscribe with snapshot:false: no snapshot events, ticks only', async (t) => {
  const gw = await gateway(t);
  const client = await gw.join();
  const { from } = await subscribe(client, { id: 2, topics: ['tick.SIM.*'], snapshot: false, conflate: false });
  await client.until(() => client.data(from).length >= 40);
  const data = client.data(from);
  t.true(data.every((e) => e.type === 'tick'), 'no snapshot event');
  checkContiguous(t, data);
});

test('overlapping patterns deliver each tick once; unsubscribe stops only what no other pattern still matches', async (t) => {
  const gw = await gateway(t);
  const client = await gw.join();
  const { from } = await subscribe(client, { id: 1, topics: ['tick.SIM.*', 'tick.SIM.BTC-USD', '*'], conflate: false });
  await client.until(() => client.data(from).filter((e) => e.topic === 'tick.SIM.BTC-USD').length >= 20);
  checkContiguous(t, client.data(from));
  t.deepEqual(await client.request({ op: 'unsubscribe', id: 2, topics: ['*', 'tick.SIM.*'] }), { type: 'unsubscribed', id: 2, topics: ['*', 'tick.SIM.*'] });
  const after = client.events.length;
  await client.until(() => client.data(after).length >= 20);
  t.deepEqual([...new Set(client.data(after).map((e) => e.topic))], ['tick.SIM.BTC-USD'], 'only the pattern that is left');
  checkContiguous(t, client.data(from));
  client.send({ op: 'unsubscribe', id: 3, topics: ['tick.SIM.BTC-USD'] });
  const { index } = await client.waitFor((e) => e.type === 'unsubscribed' && e.id === 3, { from: after });
  await quietFor(300);
  t.deepEqual(client.data(index + 1), [], 'nothing after the last unsubscribed (300 ms at ~100 ticks/s per topic)');
  t.is(gw.gateway.subscriptions, 0);
});

test('re-subscribing after unsubscribe starts from a fresh snapshot', async (t) => {
  const gw = await gateway(t);
  const client = await gw.join();
  const first = await subscribe(client, { id: 1, topics: ['tick.SIM.ETH-USD'] });
  await client.until(() => client.data(first.from).length >= 5);
  await client.request({ op: 'unsubscribe', id: 2, topics: ['tick.SIM.ETH-USD'] });
  const second = await subscribe(client, { id: 3, topics: ['tick.SIM.ETH-USD'] });
  await client.until(() => client.data(second.from).length >= 3);
  t.is(client.data(second.from)[0]!.type, 'snapshot');
});

test('subscribing to a topic already followed through another pattern repeats nothing', async (t) => {
  const gw = await gateway(t);
  const client = await gw.join();
  const { from } = await subscribe(client, { id: 1, topics: ['tick.SIM.*'], conflate: false });
  await client.until(() => client.data(from).filter((e) => e.topic === 'tick.SIM.SOL-USD').length >= 10);
  const last = client.data(from).filter((e) => e.topic === 'tick.SIM.SOL-USD').at(-1)!;
  await subscribe(client, { id: 2, topics: ['tick.SIM.SOL-USD'], since: { 'tick.SIM.SOL-USD': { epoch: last.epoch, seq: last.seq - 5 } } });
  await subscribe(client, { id: 3, topics: ['tick.SIM.SOL-USD'] });
  await client.until(() => client.data(from).filter((e) => e.topic === 'tick.SIM.SOL-USD').length >= 30);
  const sol = client.data(from).filter((e) => e.topic === 'tick.SIM.SOL-USD');
  t.is(sol.filter((e) => e.type === 'snapshot').length, 1, 'no second snapshot');
  checkContiguous(t, client.data(from));
});

test('since: missed ticks from history in order, or from the snapshot service\'s REPLAY beyond it; up to date gets nothing until the next tick; another epoch gets a snapshot; unmatched entries are ignored', async (t) => {
  const gw = await gateway(t, { TICKFAN_GATEWAY_HISTORY_PER_TOPIC: '8' });
  const publisher = await fabric.publisher();
  const { epoch } = publisher;
  const A = 'tick.RES.A';
  const B = 'tick.RES.B';
  publish(publisher, 'RES', 'A', 1);
  publish(publisher, 'RES', 'B', 1);
  await fabric.settled(B, epoch, 1);
  // A holder keeps the prefix followed, so the gateway has history of it.
  const holder = await gw.join();
  const held = await subscribe(holder, { id: 'h', topics: ['tick.RES.*'], conflate: false });
  for (let n = 2; n <= 20; n++) publish(publisher, 'RES', 'A', n);
  await holder.waitFor((e) => isData(e) && e.topic === A && e.seq === 20, { from: held.from });

  // Missed 13..20 (the last 8 ticks are retained): exactly those, in order, as ticks; B as usual.
  const resumer = await gw.join();
  const r = await subscribe(resumer, { id: 1, topics: ['tick.RES.*'], since: { [A]: { epoch, seq: 12 } } });
  await resumer.waitFor((e) => isData(e) && e.topic === A && e.seq === 20, { from: r.from });
  await resumer.waitFor((e) => isData(e) && e.topic === B, { from: r.from });
  t.deepEqual(resumer.data(r.from).filter((e) => e.topic === A).map((e) => `${e.type}:${e.seq}`), [13, 14, 15, 16, 17, 18, 19, 20].map((s) => `tick:${s}`));
  t.deepEqual(resumer.data(r.from).filter((e) => e.topic === B).map((e) => `${e.type}:${e.seq}`), ['snapshot:1'], 'a topic not in since gets its snapshot');

  // Beyond the gateway's history (12 is not retained any more): the missed ticks from the
  // snapshot service's REPLAY, as ticks.
  const old = await gw.join();
  const o = await subscribe(old, { id: 1, topics: [A], since: { [A]: { epoch, seq: 11 } } });
  await old.waitFor((e) => isData(e) && e.topic === A, { from: o.from });
  // Another epoch: a fresh snapshot.
  const restarted = await gw.join();
  const x = await subscribe(restarted, { id: 1, topics: [A], since: { [A]: { epoch: epoch === 1 ? 2 : epoch - 1, seq: 19 } } });
  await restarted.waitFor((e) => isData(e) && e.topic === A, { from: x.from });
  // Up to date: nothing until the next tick. Unmatched since entries (an unknown topic, and a
  // known topic none of the patterns matches) are ignored.
  const current = await gw.join();
  const c = await subscribe(current, {
    id: 1, topics: [A],
    since: { [A]: { epoch, seq: 20 }, [B]: { epoch, seq: 0 }, 'tick.SIM.BTC-USD': { epoch: 1, seq: 1 }, 'tick.NOPE.X': { epoch: 1, seq: 1 } },
  });
  t.deepEqual(c.answer, { type: 'subscribed', id: 1, topics: [A] });
  await quietFor(200);
  t.deepEqual(current.data(c.from), [], 'up to date: nothing');
  publish(publisher, 'RES', 'A', 21);
  await current.waitFor((e) => isData(e) && e.seq === 21, { from: c.from });
  await old.waitFor((e) => isData(e) && e.seq === 21, { from: o.from });
  await restarted.waitFor((e) => isData(e) && e.seq === 21, { from: x.from });
  t.deepEqual(current.data(c.from).map((e) => `${e.type}:${e.topic}:${e.seq}`), [`tick:${A}:21`]);
  t.deepEqual(old.data(o.from).map((e) => `${e.type}:${e.seq}`), [12, 13, 14, 15, 16, 17, 18, 19, 20, 21].map((s) => `tick:${s}`));
  t.deepEqual(restarted.data(x.from).map((e) => `${e.type}:${e.seq}`), ['snapshot:20', 'tick:21']);
});

test('since after reconnecting to a gateway that no longer followed the topic: the missed ticks from the snapshot service\'s REPLAY', async (t) => {
  const gw = await gateway(t);
  const publisher = await fabric.publisher();
  for (let n = 1; n <= 5; n++) publish(publisher, 'REC', 'A', n);
  await fabric.settled('tick.REC.A', publisher.epoch, 5);
  const client = await gw.join();
  const s = await subscribe(client, { id: 1, topics: ['tick.REC.*'], since: { 'tick.REC.A': { epoch: publisher.epoch, seq: 2 } } });
  await client.waitFor((e) => isData(e) && e.seq === 5, { from: s.from });
  const data = client.data(s.from).map((e) => `${e.type}:${e.seq}`);
  // The gateway's own history of a prefix starts when it starts following it, so 3..4 are not in it.
  t.deepEqual(data, ['tick:3', 'tick:4', 'tick:5']);
  t.is(gw.gateway.counters.resumes.get('replay'), 1);
});

test('a prefix lingers after its last client leaves, so a client that reconnects within the linger resumes from history', async (t) => {
  const gw = await gateway(t, { TICKFAN_GATEWAY_UPSTREAM_LINGER_MS: '60000' });
  const publisher = await fabric.publisher();
  const { epoch } = publisher;
  const topic = 'tick.RLIN.A';
  publish(publisher, 'RLIN', 'A', 1);
  await fabric.settled(topic, epoch, 1);
  const first = await gw.join();
  const s = await subscribe(first, { id: 1, topics: ['tick.RLIN.*'], conflate: false });
  await first.waitFor((e) => isData(e) && e.topic === topic, { from: s.from });
  await first.close();
  await eventually(() => gw.gateway.connections === 0, 'the gateway to notice the close');
  t.deepEqual(gw.gateway.upstreamPrefixes.sort(), ['status.RLIN', 'tick.RLIN.'], 'still followed while it lingers');
  // Ticks the client misses while away.
  for (let n = 2; n <= 4; n++) publish(publisher, 'RLIN', 'A', n);
  await fabric.settled(topic, epoch, 4);
  await eventually(() => gw.gateway.cachedTopics > 0 && gw.gateway.upstreamPrefixes.length === 2, 'the gateway to keep the prefix');
  const back = await gw.join();
  const r = await subscribe(back, { id: 1, topics: ['tick.RLIN.*'], conflate: false, since: { [topic]: { epoch, seq: 1 } } });
  await back.waitFor((e) => isData(e) && e.topic === topic && e.seq === 4, { from: r.from });
  t.deepEqual(back.data(r.from).map((e) => `${e.type}:${e.seq}`), ['tick:2', 'tick:3', 'tick:4'], 'the missed ticks, replayed from the gateway\'s history');
});

test('list: topics of a prefix, from the snapshot service when the gateway does not follow it, from its cache when it does', async (t) => {
  const gw = await gateway(t);
  const client = await gw.join();
  t.deepEqual(gw.gateway.upstreamPrefixes, []);
  t.deepEqual(await client.request({ op: 'list', id: 1, prefix: 'tick.SIM.' }), { type: 'topics', id: 1, topics: SIM });
  t.deepEqual(await client.request({ op: 'list', id: 'eq', prefix: 'tick.SIMEQ.' }), { type: 'topics', id: 'eq', topics: SIMEQ });
  t.deepEqual(await client.request({ op: 'list', id: 3, prefix: 'tick.NONE.' }), { type: 'topics', id: 3, topics: [] });
  const all = await client.request({ op: 'list', id: 4 });
  t.deepEqual((all.topics as string[]).filter((topic) => topic.startsWith('tick.SIM')), [...SIM, ...SIMEQ], 'no prefix: everything, sorted');
  t.deepEqual(gw.gateway.upstreamPrefixes, [], 'listing does not follow anything');
  await client.request({ op: 'subscribe', id: 5, topics: ['tick.SIM.*'] });
  t.deepEqual(gw.gateway.upstreamPrefixes.sort(), ['status.SIM', 'tick.SIM.']);
  t.deepEqual(await client.request({ op: 'list', id: 6, prefix: 'tick.SIM.' }), { type: 'topics', id: 6, topics: SIM });
  t.deepEqual(await client.request({ op: 'list', id: 7, prefix: 'tick.SIM.E' }), { type: 'topics', id: 7, topics: ['tick.SIM.ETH-USD'] });
  // Venue LST is not held by the snapshot service: a gateway following it lists what its cache
  // holds, one that does not follow it asks the snapshot service and gets nothing.
  const s = await subscribe(client, { id: 8, topics: ['tick.LST.*'] });
  const publisher = await fabric.publisher();
  // Only the gateway subscribes to LST, and its subscription reaches a new publisher a moment
  // after the publisher connects: publish until both topics arrive.
  const seen = (): number => new Set(client.data(s.from).filter((e) => e.topic.startsWith('tick.LST.')).map((e) => e.topic)).size;
  for (let n = 1; seen() < 2 && n <= 100; n++) {
    publish(publisher, 'LST', 'B', n);
    publish(publisher, 'LST', 'A', n);
    await client.until(() => seen() === 2, 50).catch(() => {});
  }
  t.is(seen(), 2);
  t.deepEqual(await client.request({ op: 'list', id: 9, prefix: 'tick.LST.' }), { type: 'topics', id: 9, topics: ['tick.LST.A', 'tick.LST.B'] });
  const other = await (await gateway(t)).join();
  t.deepEqual(await other.request({ op: 'list', id: 10, prefix: 'tick.LST.' }), { type: 'topics', id: 10, topics: [] });
});

test('ping -> pong with the id echoed (number, string, none)', async (t) => {
  const gw = await gateway(t);
  const client = await gw.join();
  t.deepEqual(await client.request({ op: 'ping', id: 4 }), { type: 'pong', id: 4 });
  t.deepEqual(await client.request({ op: 'ping', id: 'p' }), { type: 'pong', id: 'p' });
  const from = client.events.length;
  client.send({ op: 'ping' });
  t.deepEqual((await client.waitFor((e) => e.type === 'pong', { from })).event, { type: 'pong' });
});

test('heartbeat: after heartbeatMs without any other frame, and only then', async (t) => {
  const HEARTBEAT = 200;
  /** Slack between the gateway's Date.now() silence check and the microsecond clock of `ts`. */
  const SLACK_US = 10_000;
  const gw = await gateway(t, { TICKFAN_GATEWAY_HEARTBEAT_MS: String(HEARTBEAT) });
  // Times are taken from the heartbeat's own ts (the gateway's clock when it made the event), so a
  // stall of this busy process in delivering frames cannot distort them.
  const connecting = nowMicros();
  const idle = await gw.join();
  const first = await idle.waitFor((e) => e.type === 'heartbeat', { timeoutMs: 3000 });
  const { ts } = first.event;
  t.true(typeof ts === 'number' && Number.isSafeInteger(ts), 'ts is integer microseconds');
  t.deepEqual(Object.keys(first.event).sort(), ['ts', 'type']);
  t.true((ts as number) - connecting >= HEARTBEAT * 1000 - SLACK_US, `not before heartbeatMs of silence after the welcome (${((ts as number) - connecting) / 1000} ms after connecting)`);
  t.true(Math.abs((ts as number) - Date.now() * 1000) < 5_000_000, 'ts is now');
  // Any other frame restarts the silence: the pong is sent after the ping.
  const pinged = nowMicros();
  const pong = await idle.request({ op: 'ping', id: 1 });
  const next = await idle.waitFor((e) => e.type === 'heartbeat', { from: idle.events.indexOf(pong), timeoutMs: 3000 });
  t.true((next.event.ts as number) - pinged >= HEARTBEAT * 1000 - SLACK_US, `${((next.event.ts as number) - pinged) / 1000} ms after the ping`);
  // A client receiving ticks (about every 2 ms) is never silent that long: no heartbeat. (A
  // longer heartbeatMs here, so that a stall of this busy test process cannot pass for silence.)
  const busy = await (await gateway(t, { TICKFAN_GATEWAY_HEARTBEAT_MS: '1000' })).join();
  const s = await subscribe(busy, { id: 1, topics: ['tick.SIM.*'] });
  await busy.until(() => busy.data(s.from).length >= 100);
  t.deepEqual(busy.events.slice(s.from).filter((e) => e.type === 'heartbeat'), []);
});

test('a pattern subscription picks up a topic that first appears after it subscribed', async (t) => {
  const gw = await gateway(t);
  const client = await gw.join();
  const s = await subscribe(client, { id: 1, topics: ['tick.NEW.*', 'tick.NEWX.ONE'], conflate: false });
  t.deepEqual(client.data(s.from), []);
  const publisher = await fabric.publisher();
  for (let n = 1; n <= 5; n++) {
    publish(publisher, 'NEW', 'A', n);
    publish(publisher, 'NEWX', 'ONE', n);
    publish(publisher, 'NEWX', 'OTHER', n);
  }
  await client.until(() => client.data(s.from).filter((e) => e.seq === 5).length === 2, 10_000, () => 'seq 5 of both new topics');
  const data = client.data(s.from);
  t.deepEqual(data.filter((e) => e.topic === 'tick.NEW.A').map((e) => e.seq), [1, 2, 3, 4, 5]);
  t.deepEqual(data.filter((e) => e.topic === 'tick.NEWX.ONE').map((e) => e.seq), [1, 2, 3, 4, 5]);
  t.false(data.some((e) => e.topic === 'tick.NEWX.OTHER'), 'an exact pattern gets only its topic');
  t.true(data.every((e) => e.epoch === publisher.epoch));
  t.deepEqual(data.find((e) => e.topic === 'tick.NEW.A')!.data, { venue: 'NEW', symbol: 'A', bid: 1, ask: 2, last: 1.5, exchTs: data[0]!.data.exchTs });
});

/** Polls a gateway-side condition (the gateway notices a close asynchronously). */
async function eventually(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await quietFor(10);
  }
}

test('upstream interest follows client interest: nothing followed while nobody subscribes, the last leaver releases', async (t) => {
  const gw = await gateway(t);
  const g = gw.gateway;
  const a = await gw.join();
  const b = await gw.join();
  t.deepEqual(g.upstreamPrefixes, [], 'connected clients without subscriptions: nothing followed');
  await a.request({ op: 'subscribe', id: 1, topics: ['tick.SIM.*'] });
  t.deepEqual(g.upstreamPrefixes.sort(), ['status.SIM', 'tick.SIM.'], 'the venue\'s ticks and its feed status');
  await b.request({ op: 'subscribe', id: 1, topics: ['tick.SIM.*', 'tick.SIMEQ.AAPL'] });
  t.deepEqual(g.upstreamPrefixes.sort(), ['status.SIM', 'status.SIMEQ', 'tick.SIM.', 'tick.SIMEQ.AAPL']);
  t.true(g.cachedTopics >= SIM.length + 1);
  await a.close();
  await eventually(() => g.connections === 1, 'the gateway to notice the close');
  t.deepEqual(g.upstreamPrefixes.sort(), ['status.SIM', 'status.SIMEQ', 'tick.SIM.', 'tick.SIMEQ.AAPL'], 'b still wants both');
  await b.request({ op: 'unsubscribe', id: 2, topics: ['tick.SIMEQ.AAPL'] });
  t.deepEqual(g.upstreamPrefixes.sort(), ['status.SIM', 'tick.SIM.']);
  await b.request({ op: 'subscribe', id: 3, topics: ['tick.SIMEQ.*'] });
  t.deepEqual(g.upstreamPrefixes.sort(), ['status.SIM', 'status.SIMEQ', 'tick.SIM.', 'tick.SIMEQ.']);
  await b.close();
  await eventually(() => g.connections === 0, 'the gateway to notice the close');
  t.deepEqual(g.upstreamPrefixes, [], 'the last client left without unsubscribing: nothing followed');
  t.is(g.cachedTopics, 0, 'and nothing cached');
  // Subscribe and unsubscribe answered in order even while the subscribe waits for upstream state.
  const c = await gw.join();
  const from = c.events.length;
  c.send({ op: 'subscribe', id: 1, topics: ['tick.SIM.*'] });
  c.send({ op: 'subscribe', id: 2, topics: ['tick.SIM.*'] });
  c.send({ op: 'unsubscribe', id: 3, topics: ['tick.SIM.*'] });
  const { index } = await c.waitFor((e) => e.type === 'unsubscribed', { from });
  t.deepEqual(c.events.slice(from).filter((e) => !isData(e)).map((e) => `${e.type}:${String(e.id)}`), ['subscribed:1', 'subscribed:2', 'unsubscribed:3']);
  t.deepEqual(g.upstreamPrefixes, [], 'a pattern subscribed twice is one reference, released by one unsubscribe');
  await quietFor(200);
  t.deepEqual(c.data(index + 1), [], 'nothing after unsubscribed');
});
