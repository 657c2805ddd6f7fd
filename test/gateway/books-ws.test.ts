/**
 * Books and trades through a real gateway (PROTOCOL.md section 8): a proxy and a snapshot service
 * in this process, sources publishing random book records and trades, raw WebSocket clients that
 * keep the book from their events and check every one against its checksum.
 */
import anyTest, { type TestFn } from 'ava';
import type { Session } from '../../src/gateway/session.js';
import { BookSource, ClientBook, seededRandom } from './_books.js';
import { checkEveryFrame, Fabric, quietFor, type TickEvent, type WsClient } from './_helpers.js';

const test = anyTest as TestFn<{ clients: WsClient[] }>;

let fabric: Fabric;

test.before(async () => {
  fabric = await Fabric.start({}, ['proxy', 'snapshot']);
});

test.after.always(async () => {
  await fabric?.stop();
});

checkEveryFrame(test);

/** The client's book of `topic`, kept from every data event it received. */
function bookOf(client: WsClient, topic: string): ClientBook {
  const book = new ClientBook();
  for (const event of client.data().filter((e) => e.topic === topic)) book.apply(event);
  return book;
}

const lastSeq = (client: WsClient, topic: string): number => client.data().filter((e) => e.topic === topic).at(-1)?.seq ?? 0;

test('a conflating client that stops reading gets merged book updates and ends with exactly the source\'s book; a conflate:false one beside it gets every record; trades end at the newest', async (t) => {
  const gw = await fabric.gatewayFor(t, { TICKFAN_GATEWAY_BUFFERED_HIGH_WATER_BYTES: String(16 * 1024), TICKFAN_GATEWAY_MAX_QUEUED_EVENTS: '50' });
  const topic = 'book.BKS.A';
  const publisher = await fabric.recordPublisher(topic);
  const trades = await fabric.recordPublisher('trade.BKS.A');
  // About 1 KB per record, so the loopback buffers fill within a few thousand records.
  const source = new BookSource('BKS', 'A', seededRandom(11), { pad: 'p'.repeat(800) });
  const fast = await gw.join();
  const slow = await gw.join();
  await fast.request({ op: 'subscribe', id: 1, topics: ['book.BKS.*', 'trade.BKS.*'], conflate: false });
  await slow.request({ op: 'subscribe', id: 1, topics: ['book.BKS.*', 'trade.BKS.*'] });
  let published = await publisher.publish(source.snapshot(true));
  let tradeSeq = 0;
  await slow.until(() => lastSeq(slow, topic) === published, 10_000, () => 'the first book record');

  slow.pause();
  const slowSession: Session = gw.gateway.sessions.find((s) => s.id === slow.events[0]!.session)!;
  const deadline = performance.now() + 20_000;
  while (!slowSession.conflating || published < 3000) {
    if (performance.now() > deadline) throw new Error(`the paused client never conflated (${published} records, buffered ${slowSession.bufferedBytes})`);
    for (let i = 0; i < 50; i++) published = await publisher.publish(published % 500 === 0 ? source.snapshot(true) : source.update());
    tradeSeq = await trades.publish({ venue: 'BKS', symbol: 'A', price: 100 + tradeSeq, size: 1, side: 'buy', tradeId: `T${tradeSeq}` });
    await quietFor(1);
  }
  slow.resume();
  await fast.until(() => lastSeq(fast, topic) === published, 20_000, () => `the fast client to reach seq ${published}`);
  await slow.until(() => lastSeq(slow, topic) === published && lastSeq(slow, 'trade.BKS.A') === tradeSeq, 20_000, () => `the slow client to reach seq ${published} (at ${lastSeq(slow, topic)})`);

  const fastBook = bookOf(fast, topic);
  const slowBook = bookOf(slow, topic);
  t.is(fastBook.levels, source.book);
  t.is(slowBook.levels, source.book, 'the conflating client ends with exactly the source\'s book');
  t.is(slowBook.checksum, source.checksum);
  t.is(fastBook.events, published, 'conflate:false: every record, in order');
  t.true(slowBook.events < published, `the conflating client got ${slowBook.events} book events for ${published} records`);
  t.true(slowSession.counters.conflated > 0);
  t.is(gw.gateway.bookBreaks.get('checksum'), 0);
});

test('since resumes a book within the history, beyond it (REPLAY), and beyond both (a fresh snapshot); each ends with the source\'s book', async (t) => {
  const gw = await fabric.gatewayFor(t, { TICKFAN_GATEWAY_HISTORY_PER_TOPIC: '16' });
  const noReplay = await fabric.gatewayFor(t, { TICKFAN_GATEWAY_HISTORY_PER_TOPIC: '16', TICKFAN_GATEWAY_MAX_QUEUED_REPLAYS: '0' });
  const topic = 'book.BKR.A';
  const publisher = await fabric.recordPublisher(topic);
  const source = new BookSource('BKR', 'A', seededRandom(12));
  const holders = await Promise.all([gw.join(), noReplay.join()]);
  for (const holder of holders) await holder.request({ op: 'subscribe', id: 1, topics: [topic] });
  let seq = await publisher.publish(source.snapshot(true));
  for (let i = 0; i < 20; i++) seq = await publisher.publish(source.update());
  for (const holder of holders) await holder.until(() => lastSeq(holder, topic) === seq, 10_000, () => 'the holder at the newest');
  const at = seq;
  const resumeAfter = async (missed: number, handle: typeof gw): Promise<ClientBook> => {
    for (let i = 0; i < missed; i++) seq = await publisher.publish(source.update());
    await fabric.settled(topic, publisher.epoch, seq);
    for (const holder of holders) await holder.until(() => lastSeq(holder, topic) === seq, 10_000, () => 'the holder at the newest');
    const client = await handle.join();
    // The book as it stood at `at`, from the holder's events: what a reconnecting client has.
    const book = new ClientBook();
    for (const event of holders[0]!.data().filter((e) => e.topic === topic && e.seq <= at)) book.apply(event);
    const from = client.events.length;
    await client.request({ op: 'subscribe', id: 1, topics: [topic], since: { [topic]: { epoch: publisher.epoch, seq: at } } });
    await client.until(() => lastSeq(client, topic) === seq, 10_000, () => `the resumed client at seq ${seq}`);
    for (const event of client.data(from).filter((e) => e.topic === topic)) book.apply(event);
    return book;
  };
  t.is((await resumeAfter(5, gw)).levels, source.book, 'within the history');
  t.is(gw.gateway.counters.resumes.get('history'), 1);
  t.is((await resumeAfter(40, gw)).levels, source.book, 'beyond it: the records from REPLAY');
  t.is(gw.gateway.counters.resumes.get('replay'), 1);
  t.is((await resumeAfter(0, noReplay)).levels, source.book, 'beyond it without REPLAY: the whole book');
  t.is(noReplay.gateway.counters.resumes.get('snapshot'), 1);
});

test('a record that breaks the book makes the topic unknown (counted): a client subscribing meanwhile waits, and its first event is the snapshot the next snapshot record makes', async (t) => {
  const gw = await fabric.gatewayFor(t);
  const topic = 'book.BKX.A';
  const publisher = await fabric.recordPublisher(topic);
  const source = new BookSource('BKX', 'A', seededRandom(13));
  const holder = await gw.join();
  await holder.request({ op: 'subscribe', id: 1, topics: ['book.BKX.*'] });
  let seq = await publisher.publish(source.snapshot(true));
  for (let i = 0; i < 5; i++) seq = await publisher.publish(source.update());
  seq = await publisher.publish({ ...source.update(), checksum: 12345 });
  await holder.until(() => lastSeq(holder, topic) === seq, 10_000, () => 'the breaking record, passed on as published');
  t.is(gw.gateway.bookBreaks.get('checksum'), 1);

  const waiter = await gw.join();
  const from = waiter.events.length;
  t.is((await waiter.request({ op: 'subscribe', id: 1, topics: ['book.BKX.*'] })).type, 'subscribed');
  seq = await publisher.publish(source.update());
  await holder.until(() => lastSeq(holder, topic) === seq, 10_000, () => 'the next update');
  await quietFor(100);
  t.deepEqual(waiter.data(from), [], 'no event of a book the gateway does not know');

  seq = await publisher.publish(source.snapshot());
  await waiter.until(() => lastSeq(waiter, topic) === seq, 10_000, () => 'the snapshot once the book is known again');
  seq = await publisher.publish(source.update());
  await waiter.until(() => lastSeq(waiter, topic) === seq, 10_000, () => 'live records after it');
  const events: TickEvent[] = waiter.data(from);
  t.deepEqual(events.map((e) => e.type), ['snapshot', 'tick']);
  t.is(bookOf(waiter, topic).levels, source.book);
  t.is(gw.gateway.bookBreaks.get('checksum'), 1, 'counted once');
});
