import test from 'ava';
import fc from 'fast-check';
import type { BookChange, BookRecord, BookResync, BookView } from '../../src/client/ws/index.js';
import { bookChecksum } from '../../src/wire/index.js';
import { BookModel, bookRunArb } from '../wire/_books.js';
import { holdsAsync } from '../wire/_helpers.js';
import { answerSubscribe, fake, open, sync, type FakeConnection, type Request } from './fake-gateway.js';

/**
 * The client's order books (PROTOCOL.md section 8) against a scripted gateway: each book built
 * from its topic's snapshot event and tick events, every record checked against its checksum,
 * and a book that stops matching dropped and taken afresh from a new snapshot.
 */

const EPOCH = 7;
const A = 'book.SIM.A';
const B = 'book.SIM.B';

/** A snapshot or tick event of a book topic carrying `record` (its venue and symbol made the topic's). */
function bookEvent(type: 'snapshot' | 'tick', topic: string, seq: number, record: BookRecord, epoch = EPOCH): Record<string, unknown> {
  const [, venue, symbol] = topic.split('.');
  return { type, topic, epoch, seq, ts: seq * 1000, data: { ...record, venue, symbol } };
}

/** A valid snapshot record of the book with these levels. */
function snapshot(bids: [number, number][], asks: [number, number][]): BookRecord {
  return { venue: '', symbol: '', action: 'snapshot', bids, asks, checksum: bookChecksum(bids, asks) };
}

/** A valid update record: `changes` applied to the book `before`, with the checksum of the result. */
function update(before: BookModel, bids: [number, number][], asks: [number, number][]): BookRecord {
  const record: BookRecord = { venue: '', symbol: '', action: 'update', bids, asks, checksum: 0 };
  before.apply(record);
  return { ...record, checksum: before.checksum() };
}

function plain(book: BookView | undefined): { bids: unknown; asks: unknown; checksum: number } | undefined {
  return book === undefined ? undefined : { bids: book.bids(), asks: book.asks(), checksum: book.checksum() };
}

/** A client following `book.SIM.*`, with A and B held from their snapshot events (A's model returned to go on with). */
async function withTwoBooks(t: Parameters<typeof fake>[0]) {
  const server = await fake(t);
  const client = await open(t, server);
  const conn = await server.connection(0);
  const resyncs: BookResync[] = [];
  client.on('bookResync', (resync) => resyncs.push(resync));
  const subscribing = client.subscribe('book.SIM.*');
  const a = new BookModel();
  const first = snapshot([[100, 1], [99, 2]], [[101, 1]]);
  a.apply(first);
  await answerSubscribe(conn, bookEvent('snapshot', A, 10, first), bookEvent('snapshot', B, 3, snapshot([[50, 5]], [[51, 5]])));
  await subscribing;
  return { server, client, conn, resyncs, a };
}

/** Answers the renewal that follows a dropped book: its unsubscribe, then its subscribe with `events`; returns both requests. */
async function answerRenewal(conn: FakeConnection, ...events: unknown[]): Promise<{ unsubscribe: Request; subscribe: Request }> {
  const { request: unsubscribe } = await conn.nextOf('unsubscribe');
  conn.send({ type: 'unsubscribed', id: unsubscribe.id, topics: unsubscribe.topics });
  return { unsubscribe, subscribe: await answerSubscribe(conn, ...events) };
}

test('property: a book built from its snapshot event and tick events is the source\'s, record by record (checksums match, levels equal)', async (t) => {
  const server = await fake(t);
  const client = await open(t, server);
  const conn = await server.connection(0);
  const subscribing = client.subscribe('book.SIM.*');
  await answerSubscribe(conn);
  await subscribing;
  let run = 0;
  await holdsAsync(t, fc.asyncProperty(bookRunArb, async (records) => {
    const topic = `book.SIM.R${run++}`;
    // The book as each change left it (the view follows the topic, so it is read at once).
    const checksums: number[] = [];
    const off = client.on('book', (change) => change.topic === topic && checksums.push(change.book.checksum()));
    conn.send(...records.map((record, i) => bookEvent(i === 0 ? 'snapshot' : 'tick', topic, i + 1, record)));
    await sync(client, conn);
    off();
    const model = new BookModel();
    for (const record of records) model.apply(record);
    return JSON.stringify(checksums) === JSON.stringify(records.map((record) => record.checksum))
      && JSON.stringify(plain(client.book(topic))) === JSON.stringify({ ...model.sorted(), checksum: model.checksum() })
      && client.book(topic)!.seq === records.length;
  }), { numRuns: 40 });
  t.is(client.counters.bookResyncs, 0);
});

test('a record whose checksum does not match drops the book (counted, emitted), renews its topic, and a fresh snapshot restores it; client.book() is undefined meanwhile', async (t) => {
  const { client, conn, resyncs, a } = await withTwoBooks(t);
  const changes: BookChange[] = [];
  client.on('book', (change) => changes.push(change));
  const good = update(a, [[100, 3]], []);
  conn.send(bookEvent('tick', A, 11, good));
  await sync(client, conn);
  t.is(client.book(A)!.seq, 11);
  t.is(client.book(A)!.checksum(), good.checksum);
  const view = client.book(A)!;

  conn.send(bookEvent('tick', A, 12, { ...update(new BookModel(), [[98, 1]], []), checksum: 12345 }));
  await sync(client, conn);
  t.is(client.book(A), undefined, 'no wrong book');
  t.is(client.get(A), undefined, 'nor a state of its topic');
  t.false(view.held, 'the view handed out before says it was dropped');
  t.truthy(client.book(B), 'the other book stays');
  t.is(client.counters.bookResyncs, 1);
  t.is(resyncs.length, 1);
  t.like(resyncs[0], { topic: A, epoch: EPOCH, seq: 12, reason: 'checksum' });
  t.regex(resyncs[0]!.message, /book\.SIM\.A epoch 7 seq 12: the book's checksum after this update is \d+, the record says 12345/);

  // Before the renewal is answered, the topic's updates cannot be applied: dropped and counted.
  conn.send(bookEvent('tick', A, 13, update(new BookModel(), [[97, 1]], [])));
  const { unsubscribe, subscribe } = await answerRenewal(conn);
  t.deepEqual(unsubscribe.topics, ['book.SIM.*'], 'every pattern that matches the topic, so the server lets go of it');
  t.like(subscribe, { topics: ['book.SIM.*'], snapshot: true, since: { [B]: { epoch: EPOCH, seq: 3 } } });
  t.false(A in (subscribe.since as object), 'the dropped topic is not resumed: it gets a snapshot');
  await sync(client, conn);
  t.is(client.book(A), undefined, 'still none until the snapshot comes');
  t.is(client.counters.bookRecordsDropped, 1);

  const fresh = snapshot([[100, 3], [99, 2], [97, 1]], [[101, 1]]);
  const source = new BookModel();
  source.apply(fresh);
  conn.send(bookEvent('snapshot', A, 13, fresh));
  await sync(client, conn);
  t.deepEqual(plain(client.book(A)), { bids: fresh.bids, asks: fresh.asks, checksum: fresh.checksum }, 'the fresh snapshot restored the book');
  t.true(client.book(A)!.held);
  t.like(client.get(A), { epoch: EPOCH, seq: 13 });
  conn.send(bookEvent('tick', A, 14, update(source, [[96, 1]], [])));
  await sync(client, conn);
  t.deepEqual(plain(client.book(A)), { ...source.sorted(), checksum: source.checksum() }, 'and goes on from it');
  t.is(client.counters.bookResyncs, 1);
  t.deepEqual(changes.map((c) => [c.topic, c.update.seq]), [[A, 11], [A, 13], [A, 14]]);
  t.deepEqual(client.subscriptions(), ['book.SIM.*'], 'the subscriptions are the caller\'s, unchanged');
});

test('an update with no book before it (snapshot:false) and a record that is not a valid book record each renew the topic', async (t) => {
  const server = await fake(t);
  const client = await open(t, server);
  const conn = await server.connection(0);
  const resyncs: BookResync[] = [];
  client.on('bookResync', (resync) => resyncs.push(resync));
  const subscribing = client.subscribe(A, { snapshot: false });
  await answerSubscribe(conn);
  await subscribing;
  const model = new BookModel();
  model.apply(snapshot([[10, 1]], []));
  conn.send(bookEvent('tick', A, 5, update(model, [[9, 1]], [])));
  const { subscribe } = await answerRenewal(conn, bookEvent('snapshot', A, 6, snapshot([[10, 1], [9, 1]], [])));
  t.like(subscribe, { topics: [A], snapshot: true, conflate: true }, 'a renewal asks for the snapshot a book needs');
  t.is(subscribe.since, undefined);
  await sync(client, conn);
  t.like(resyncs[0], { topic: A, seq: 5, reason: 'no_book' });
  t.regex(resyncs[0]!.message, /an update with no book to apply it to/);
  t.deepEqual(client.book(A)!.bids(), [[10, 1], [9, 1]]);

  conn.send({ type: 'tick', topic: A, epoch: EPOCH, seq: 7, ts: 7000, data: { venue: 'SIM', symbol: 'A', action: 'update', bids: 'none', asks: [], checksum: 1 } });
  await answerRenewal(conn, bookEvent('snapshot', A, 8, snapshot([[10, 2]], [])));
  await sync(client, conn);
  t.like(resyncs[1], { topic: A, seq: 7, reason: 'invalid' });
  t.regex(resyncs[1]!.message, /book\.SIM\.A epoch 7 seq 7: .*bids/);
  t.deepEqual(client.book(A)!.bids(), [[10, 2]]);
  t.is(client.counters.bookResyncs, 2);
});

test('across a reconnect a book resumes with since: continued by the missed records, or replaced by a fresh snapshot', async (t) => {
  const { server, client, conn, a } = await withTwoBooks(t);
  conn.socket.terminate();
  const second = await server.connection(1);
  const missed = [update(a, [[99, 0]], [[102, 4]]), update(a, [], [[101, 0]])];
  const resubscribe = await answerSubscribe(second, bookEvent('tick', A, 11, missed[0]!), bookEvent('tick', A, 12, missed[1]!), bookEvent('snapshot', B, 9, snapshot([[49, 1]], [])));
  t.like(resubscribe, { topics: ['book.SIM.*'], since: { [A]: { epoch: EPOCH, seq: 10 }, [B]: { epoch: EPOCH, seq: 3 } } });
  await sync(client, second);
  t.deepEqual(plain(client.book(A)), { ...a.sorted(), checksum: a.checksum() }, 'continued from the missed records');
  t.like(client.book(A), { seq: 12 });
  t.deepEqual(plain(client.book(B)), { bids: [[49, 1]], asks: [], checksum: bookChecksum([[49, 1]], []) }, 'replaced by the fresh snapshot');
  t.is(client.counters.bookResyncs, 0);
});

test('an unsubscribe lets the books of its topics go', async (t) => {
  const { client, conn } = await withTwoBooks(t);
  const held = client.book(A)!;
  const unsubscribing = client.unsubscribe('book.SIM.*');
  const { request } = await conn.nextOf('unsubscribe');
  conn.send({ type: 'unsubscribed', id: request.id, topics: request.topics });
  await unsubscribing;
  t.is(client.book(A), undefined);
  t.false(held.held);
});
