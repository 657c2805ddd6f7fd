/**
 * Feed status events (PROTOCOL.md section 5): `status.<venue>` messages of the fabric reach every
 * client whose patterns can match that venue's ticks, when the venue's state changes, and once
 * after subscribing while the venue is not up. Each test uses venues of its own, published here.
 */
import anyTest, { type TestFn } from 'ava';
import { coversVenue, statusPrefix } from '../../src/gateway/routing.js';
import { checkEveryFrame, Fabric, isData, quietFor, type ServerEvent, type WsClient } from './_helpers.js';

const test = anyTest as TestFn<{ clients: WsClient[] }>;

let fabric: Fabric;

test.before(async () => {
  fabric = await Fabric.start({}, ['proxy', 'snapshot']);
});

test.after.always(async () => {
  await fabric?.stop();
});

checkEveryFrame(test);

async function join(t: { context: { clients: WsClient[] } }, gw: { join(): Promise<WsClient> }, topics: string[]): Promise<{ client: WsClient; from: number }> {
  const client = await gw.join();
  t.context.clients.push(client);
  const from = client.events.length;
  await client.request({ op: 'subscribe', id: 1, topics });
  return { client, from };
}

/** The status events of `venue` (tests run concurrently, and a `*` client hears every test's venues). */
const statuses = (client: WsClient, from: number, venue: string): ServerEvent[] =>
  client.events.slice(from).filter((e) => e.type === 'status' && e.venue === venue);

test('a venue that is not up is announced once after subscribing, after `subscribed`', async (t) => {
  const feed = await fabric.statusPublisher('STA');
  const seq = await feed.publish('stale');
  await fabric.settled(feed.topic, feed.epoch, seq);
  const gw = await fabric.gateway();
  const { client, from } = await join(t, gw, ['tick.STA.*']);
  const { event, index } = await client.waitFor((e) => e.type === 'status', { from, what: 'the status event' });
  t.like(event, { type: 'status', venue: 'STA', state: 'stale', reason: 'test says stale' });
  t.is(typeof event.ts, 'number');
  t.true(index > client.events.findIndex((e) => e.type === 'subscribed'), 'after subscribed');
  await quietFor(150);
  t.is(statuses(client, from, 'STA').length, 1, 'once');
});

test('state changes reach clients covering the venue; repeats of the same state do not; other venues hear nothing', async (t) => {
  const feed = await fabric.statusPublisher('STB');
  await fabric.settled(feed.topic, feed.epoch, await feed.publish('up'));
  const gw = await fabric.gateway();
  const exact = await join(t, gw, ['tick.STB.X']);
  const venuePrefix = await join(t, gw, ['tick.ST*']);
  const everything = await join(t, gw, ['*']);
  const other = await join(t, gw, ['tick.STBX.*', 'tick.OTHER.*']);
  t.deepEqual(statuses(exact.client, exact.from, 'STB'), [], 'up: nothing announced on subscribe');
  await feed.publish('up');
  await feed.publish('stale');
  await feed.publish('stale');
  await feed.publish('down');
  for (const { client, from } of [exact, venuePrefix, everything]) {
    await client.waitFor((e) => e.type === 'status' && e.venue === 'STB' && e.state === 'down', { from, what: 'STB down' });
    t.deepEqual(statuses(client, from, 'STB').map((e) => `${e.venue}:${e.state}`), ['STB:stale', 'STB:down']);
  }
  t.deepEqual(statuses(other.client, other.from, 'STB'), [], 'tick.STBX.* and tick.OTHER.* cannot match STB ticks');
  t.deepEqual(everything.client.data(everything.from).filter((e) => e.topic.startsWith('status.')), [], 'status topics are never data events');
});

test('a malformed status payload is dropped at the gateway\'s edge (upstream decoding); later ones still flow', async (t) => {
  const feed = await fabric.statusPublisher('STC');
  const gw = await fabric.gateway();
  const { client, from } = await join(t, gw, ['tick.STC.*']);
  await feed.publish('bad', { venue: 'STC', state: 'sideways' });
  await feed.publish('bad', { venue: 'OTHER', state: 'down' });
  await feed.publish('stale');
  await client.waitFor((e) => e.type === 'status', { from, what: 'the valid status' });
  t.deepEqual(statuses(client, from, 'STC').map((e) => e.state), ['stale']);
});

test('unsubscribing stops status events; upstream interest in the venue status goes with the last pattern', async (t) => {
  const feed = await fabric.statusPublisher('STD');
  const gw = await fabric.gateway();
  const { client, from } = await join(t, gw, ['tick.STD.*']);
  t.true(gw.gateway.upstreamPrefixes.includes('status.STD'));
  await client.request({ op: 'unsubscribe', id: 2, topics: ['tick.STD.*'] });
  await t.notThrowsAsync(() => client.until(() => !gw.gateway.upstreamPrefixes.includes('status.STD'), 5000));
  await feed.publish('down');
  await quietFor(150);
  t.deepEqual(statuses(client, from, 'STD'), []);
  t.false(client.data(from).some(isData));
});

test('statusPrefix and coversVenue: which patterns hear which venue', (t) => {
  t.is(statusPrefix('*'), undefined, '"" already covers status.');
  t.is(statusPrefix('tick.*'), 'status.');
  t.is(statusPrefix('t*'), 'status.');
  t.is(statusPrefix('tick.SI*'), 'status.SI');
  t.is(statusPrefix('tick.SIM.*'), 'status.SIM');
  t.is(statusPrefix('tick.SIM.BTC-USD'), 'status.SIM');
  t.is(statusPrefix('status.*'), undefined);
  t.is(statusPrefix('x*'), undefined);
  t.true(coversVenue('*', 'SIM'));
  t.true(coversVenue('tick.S*', 'SIM'));
  t.true(coversVenue('tick.SIM.B*', 'SIM'));
  t.true(coversVenue('tick.SIM.BTC', 'SIM'));
  t.false(coversVenue('tick.SIMEQ.*', 'SIM'));
  t.false(coversVenue('tick.SIMEQ.AAPL', 'SIM'));
  t.false(coversVenue('status.*', 'SIM'));
  t.is(statusPrefix('b*'), 'status.');
  t.is(statusPrefix('book.SIM.*'), 'status.SIM');
  t.is(statusPrefix('trade.SIM.BTC-USD'), 'status.SIM');
  t.true(coversVenue('book.SIM.*', 'SIM'));
  t.true(coversVenue('trade.SIM.BTC-USD', 'SIM'));
  t.true(coversVenue('tr*', 'SIM'));
  t.false(coversVenue('book.SIMEQ.*', 'SIM'));
});
