/** PROTOCOL.md section 8 in the snapshot store: each book topic kept as its whole book, incomplete books never served. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { Request } from 'zeromq';
import { createLogger } from '../../src/log/index.js';
import type { BookProblem } from '../../src/snapshot/held-book.js';
import { loadSnapshotFile, saveSnapshotFile } from '../../src/snapshot/persist.js';
import { SnapshotService } from '../../src/snapshot/service.js';
import { SnapshotStore, type StoreLimits, type StoredMessage } from '../../src/snapshot/store.js';
import {
  FLAG_SNAPSHOT, OrderBook, decodeMessage, encodeTradeRecord, encodeMessage, parseSnapshotReply, type BookLevel, type BookRecord, type DecodedBook,
} from '../../src/wire/index.js';
import { bookRunArb } from '../wire/_books.js';
import { bookMessage, holds, message, roomyLimits, stored } from './_helpers.js';

const BOOK = 'book.SIM.BTC-USD';
const OTHER = 'book.SIM.ETH-USD';
const TICK = 'tick.SIM.BTC-USD';

/** A source of one book topic: records carrying the checksum of its own book after each (as a feed computes it). */
class BookSource {
  readonly book = new OrderBook();
  private exchTs = 1_764_070_000_000_000;

  constructor(readonly topic = BOOK) {}

  snapshot(bids: BookLevel[], asks: BookLevel[]): BookRecord {
    return this.record('snapshot', bids, asks);
  }

  update(bids: BookLevel[], asks: BookLevel[]): BookRecord {
    return this.record('update', bids, asks);
  }

  private record(action: BookRecord['action'], bids: BookLevel[], asks: BookLevel[]): BookRecord {
    const [, venue, symbol] = this.topic.split('.') as [string, string, string];
    const record: BookRecord = { venue, symbol, action, bids, asks, checksum: 0, exchTs: (this.exchTs += 1000) };
    this.book.apply(record);
    record.checksum = this.book.checksum();
    return record;
  }
}

/** A source with a few records published: seq 1 a snapshot, then updates. */
function publishedRun(): { source: BookSource; messages: DecodedBook[] } {
  const source = new BookSource();
  const records = [
    source.snapshot([[100, 1], [99.5, 2], [99, 3]], [[100.5, 1], [101, 4]]),
    source.update([[100, 0], [99.75, 5]], [[100.5, 2]]),
    source.update([], [[100.25, 1], [101, 0], [102, 7]]),
    source.update([[98, 1]], []),
  ];
  return { source, messages: records.map((record, i) => bookMessage(BOOK, 7, i + 1, record)) };
}

interface Watched {
  readonly store: SnapshotStore;
  /** Every onIncompleteBook call, in order. */
  readonly lost: [topic: string, problem: BookProblem][];
}

function watchedStore(limits: Partial<StoreLimits> = {}): Watched {
  const lost: [string, BookProblem][] = [];
  const store = new SnapshotStore({ ...roomyLimits, ...limits }, { onIncompleteBook: (topic, problem) => lost.push([topic, problem]) });
  return { store, lost };
}

/** The one record a SNAPSHOT gives for `topic`, decoded; fails when there is none. */
function served(t: ExecutionContext, store: SnapshotStore, topic = BOOK): DecodedBook {
  const held = store.get(topic);
  if (held === undefined) return t.fail(`${topic} is not served`) as never;
  return decodeMessage(held.frames) as DecodedBook;
}

/** What a book equal to the source's must be given: its snapshot with the newest record's exchTs. */
function expectedSnapshot(source: BookSource, newest: BookRecord): BookRecord {
  return source.book.toSnapshot(newest.venue, newest.symbol, newest.exchTs);
}

function assertServes(t: ExecutionContext, store: SnapshotStore, source: BookSource, newest: DecodedBook): void {
  const snapshot = served(t, store, newest.topic);
  t.deepEqual(snapshot.record, expectedSnapshot(source, newest.record));
  t.is(snapshot.record.checksum, source.book.checksum());
  t.deepEqual(snapshot.header, { ...newest.header, flags: 0 });
}

function assertNotServed(t: ExecutionContext, store: SnapshotStore, topic = BOOK): void {
  t.is(store.get(topic), undefined, `${topic} is not served`);
  t.false(store.snapshot('').some((m) => m.frames[0].toString() === topic), `SNAPSHOT "" leaves ${topic} out`);
}

// ---------------------------------------------------------------- the whole book

test('SNAPSHOT gives one snapshot record per book topic: the whole book at the newest seq, equal to the source\'s', (t) => {
  const { source, messages } = publishedRun();
  const { store, lost } = watchedStore();
  for (const m of messages) store.ingest(m);
  const snapshot = store.snapshot('book.');
  t.is(snapshot.length, 1);
  t.is(snapshot[0]!.seq, 4);
  assertServes(t, store, source, messages.at(-1)!);
  t.is(served(t, store).record.action, 'snapshot');
  t.deepEqual(lost, []);
  t.is(store.countIncompleteBooks(), 0);
});

test('REPLAY answers a book topic\'s records as they were published, byte for byte', (t) => {
  const { messages } = publishedRun();
  const { store } = watchedStore();
  for (const m of messages) store.ingest(m);
  const answer = store.replay(BOOK, 7, 2);
  if (answer.kind !== 'ok') return t.fail(answer.reason);
  t.deepEqual(answer.messages.map((m) => m.frames), messages.slice(1).map((m) => m.frames));
});

test('the snapshot record is encoded once, on demand, and served from the cache until the next record', (t) => {
  const { source, messages } = publishedRun();
  const { store } = watchedStore();
  for (const m of messages.slice(0, 3)) store.ingest(m);
  const first = store.get(BOOK);
  t.is(store.get(BOOK), first, 'the same frames again');
  store.ingest(messages[1]!); // a duplicate changes nothing
  t.is(store.get(BOOK), first);
  store.ingest(messages[3]!);
  t.not(store.get(BOOK), first);
  assertServes(t, store, source, messages[3]!);
});

test('ticks and trades keep their newest message as the state, byte for byte, beside books', (t) => {
  const { messages } = publishedRun();
  const trade = (seq: number) => decodeMessage(encodeMessage('trade.SIM.BTC-USD', { flags: 0, epoch: 3, seq, ts: 1_764_070_000_000_000 + seq },
    encodeTradeRecord({ venue: 'SIM', symbol: 'BTC-USD', price: 100 + seq, size: 1, side: 'buy', tradeId: `t${seq}` })));
  const trades = [trade(1), trade(2)];
  const ticks = [message(TICK, 1, 1), message(TICK, 1, 2)];
  const { store } = watchedStore();
  for (const m of [...messages, ...trades, ...ticks]) store.ingest(m);
  t.deepEqual(store.get('trade.SIM.BTC-USD'), stored(trades[1]!));
  t.deepEqual(store.get(TICK), stored(ticks[1]!));
  t.deepEqual(store.snapshot('').map((m) => m.frames[0].toString()), [BOOK, TICK, 'trade.SIM.BTC-USD']);
});

// ---------------------------------------------------------------- incomplete books

test('a gap makes a book incomplete (left out, counted once) until a snapshot record arrives; then it is served whole again', (t) => {
  const { source, messages } = publishedRun();
  const { store, lost } = watchedStore();
  store.ingest(messages[0]!);
  store.ingest(messages[2]!); // seq 2 was missed
  assertNotServed(t, store);
  t.is(store.incompleteBook(BOOK), 'gap');
  store.ingest(messages[3]!); // continues the run, but not the book
  assertNotServed(t, store);
  t.deepEqual(lost, [[BOOK, 'gap']], 'counted and reported once, not once per record');
  t.is(store.bookProblems.gap, 1);
  t.is(store.countIncompleteBooks(), 1);
  const resync = bookMessage(BOOK, 7, 5, source.snapshot([[97, 1]], [[103, 2]]));
  store.ingest(resync);
  assertServes(t, store, source, resync);
  t.is(store.countIncompleteBooks(), 0);
  const next = bookMessage(BOOK, 7, 6, source.update([[97.5, 1]], []));
  store.ingest(next);
  assertServes(t, store, source, next);
});

test('a REPLAY of an incomplete book is answered from the history as for any topic: the records are as published', (t) => {
  const { messages } = publishedRun();
  const { store } = watchedStore();
  for (const m of [messages[0]!, messages[2]!, messages[3]!]) store.ingest(m);
  const answer = store.replay(BOOK, 7, 3);
  if (answer.kind !== 'ok') return t.fail(answer.reason);
  t.deepEqual(answer.messages.map((m) => m.frames), [messages[2]!.frames, messages[3]!.frames]);
  t.is(store.replay(BOOK, 7, 2).kind, 'gone');
});

test('an update as the first record held of a topic (joined mid-stream) leaves it incomplete until a snapshot record', (t) => {
  const { source, messages } = publishedRun();
  const { store, lost } = watchedStore();
  store.ingest(messages[1]!);
  store.ingest(messages[2]!);
  assertNotServed(t, store);
  t.deepEqual(lost, [[BOOK, 'update_first']]);
  const resync = bookMessage(BOOK, 7, 4, source.snapshot([[100, 1]], [[101, 1]]));
  store.ingest(resync);
  assertServes(t, store, source, resync);
});

test('a new epoch must start with a snapshot record: one that starts with an update is incomplete, one with a snapshot replaces the book', (t) => {
  const { messages } = publishedRun();
  const { store, lost } = watchedStore();
  for (const m of messages) store.ingest(m);
  const restarted = new BookSource();
  restarted.snapshot([[50, 1]], [[51, 1]]);
  store.ingest(bookMessage(BOOK, 8, 2, restarted.update([[50, 2]], [])));
  assertNotServed(t, store);
  t.deepEqual(lost, [[BOOK, 'update_first']]);

  const again = new BookSource();
  const first = bookMessage(BOOK, 9, 1, again.snapshot([[60, 1]], [[61, 1]]));
  store.ingest(first);
  assertServes(t, store, again, first);
});

test('a record whose checksum does not match the book after it makes the book incomplete (checksum_mismatch), never served', (t) => {
  const { source, messages } = publishedRun();
  const { store, lost } = watchedStore();
  store.ingest(messages[0]!);
  const wrong = { ...source.update([[99, 4]], []), checksum: 12345 };
  store.ingest(bookMessage(BOOK, 7, 2, wrong));
  assertNotServed(t, store);
  t.deepEqual(lost, [[BOOK, 'checksum_mismatch']]);
  t.is(store.bookProblems.checksum_mismatch, 1);
  const resync = bookMessage(BOOK, 7, 3, source.snapshot([[99, 4]], [[100.5, 1]]));
  store.ingest(resync);
  assertServes(t, store, source, resync);
});

test('maxBookLevels: a book with more levels on a side is incomplete (too_many_levels), its memory dropped, until a snapshot that fits', (t) => {
  const { store, lost } = watchedStore({ maxBookLevels: 12 });
  const source = new BookSource();
  const levels = (n: number, from: number, step: number): BookLevel[] => Array.from({ length: n }, (_, i) => [from + i * step, 1]);
  store.ingest(bookMessage(BOOK, 1, 1, source.snapshot(levels(12, 100, -1), levels(12, 101, 1))));
  t.truthy(store.get(BOOK), '12 levels per side fit');
  store.ingest(bookMessage(BOOK, 1, 2, source.update([], [[200, 1]])));
  assertNotServed(t, store);
  t.deepEqual(lost, [[BOOK, 'too_many_levels']]);
  const fits = bookMessage(BOOK, 1, 3, source.snapshot(levels(3, 100, -1), levels(3, 101, 1)));
  store.ingest(fits);
  assertServes(t, store, source, fits);
});

test('one incomplete book leaves the other topics served', (t) => {
  const { messages } = publishedRun();
  const other = new BookSource(OTHER);
  const otherFirst = bookMessage(OTHER, 2, 1, other.snapshot([[10, 1]], [[11, 1]]));
  const { store } = watchedStore();
  for (const m of [messages[0]!, otherFirst, message(TICK, 1, 1), messages[2]!]) store.ingest(m);
  t.deepEqual(store.snapshot('').map((m) => m.frames[0].toString()), [OTHER, TICK]);
  t.is(store.countPrefix(''), 3, 'countPrefix (the TOO_LARGE bound) still counts it');
});

test('holdsBooksWithPrefix: whether a SNAPSHOT of the prefix holds book topics (built in slices however few)', (t) => {
  const { messages } = publishedRun();
  const { store } = watchedStore();
  for (const m of [messages[0]!, message(TICK, 1, 1)]) store.ingest(m);
  for (const prefix of ['', 'b', 'book.', 'book.SIM.', BOOK]) t.true(store.holdsBooksWithPrefix(prefix), JSON.stringify(prefix));
  for (const prefix of ['tick.', 'book.XNAS.', `${BOOK}T`, 'c']) t.false(store.holdsBooksWithPrefix(prefix), JSON.stringify(prefix));
});

// ---------------------------------------------------------------- persistence

async function tempFile(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tickfan-books-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'snapshot.ndjson');
}

test('a book is saved as its snapshot record and reloaded whole at its seq; live records continue it', async (t) => {
  const { source, messages } = publishedRun();
  const { store: before } = watchedStore();
  for (const m of [...messages, message(TICK, 1, 1)]) before.ingest(m);
  const file = await tempFile(t);
  await saveSnapshotFile(file, before.latestMessages());
  const { store: after, lost } = watchedStore();
  for (const m of await loadSnapshotFile(file)) after.restore(m);
  t.deepEqual(after.snapshot('').map((m) => m.frames), before.snapshot('').map((m) => m.frames));
  assertServes(t, after, source, messages.at(-1)!);
  const next = bookMessage(BOOK, 7, 5, source.update([[99.5, 0]], [[100.25, 3]]));
  t.is(after.ingest(next), 'applied');
  assertServes(t, after, source, next);
  t.deepEqual(lost, []);
});

test('an incomplete book is not saved; a file saved before books were kept whole (an update as a book\'s state) reloads it incomplete', async (t) => {
  const { messages } = publishedRun();
  const { store: gapped } = watchedStore();
  for (const m of [messages[0]!, messages[2]!, message(TICK, 1, 1)]) gapped.ingest(m);
  t.deepEqual([...gapped.latestMessages()].map((m) => m.frames[0].toString()), [TICK]);

  const file = await tempFile(t);
  await saveSnapshotFile(file, [stored(messages[2]!)]); // what the last-value cache saved before: the newest record
  const { store, lost } = watchedStore();
  for (const m of await loadSnapshotFile(file)) store.restore(m);
  assertNotServed(t, store);
  t.deepEqual(lost, [[BOOK, 'update_first']]);
  t.is(store.ingest(messages[3]!), 'applied', 'the held seq still orders live records');
  assertNotServed(t, store);
});

// ---------------------------------------------------------------- the service

test('the service: SNAPSHOT of a prefix leaves an incomplete book out; SNAPSHOT of exactly that book is UNAVAILABLE', async (t) => {
  const { messages } = publishedRun();
  const other = new BookSource(OTHER);
  const otherFirst = bookMessage(OTHER, 2, 1, other.snapshot([[10, 1]], [[11, 1]]));
  const { store } = watchedStore();
  for (const m of [messages[0]!, messages[2]!, otherFirst]) store.ingest(m);
  const service = new SnapshotService(store, { endpoint: 'tcp://127.0.0.1:*', maxRecords: 100, replyQueueLimit: 100, sendHwm: 100, lingerMs: 0 }, createLogger('silent'));
  const endpoint = await service.start();
  const client = new Request({ receiveTimeout: 10_000, linger: 0 });
  t.teardown(async () => {
    client.close();
    await service.close();
  });
  client.connect(endpoint);
  const ask = async (...frames: string[]) => {
    await client.send(frames);
    return parseSnapshotReply(await client.receive());
  };
  const prefix = await ask('SNAPSHOT', 'book.');
  if (prefix.status !== 'OK') return t.fail(JSON.stringify(prefix));
  t.deepEqual(prefix.records.map((m) => m.topic), [OTHER]);
  t.is(prefix.records[0]!.header.flags & FLAG_SNAPSHOT, FLAG_SNAPSHOT);
  t.deepEqual(prefix.records[0]!.record, other.book.toSnapshot('SIM', 'ETH-USD', otherFirst.record.exchTs));
  const exact = await ask('SNAPSHOT', BOOK);
  t.like(exact, { status: 'ERR', code: 'UNAVAILABLE' });
  t.true(exact.status === 'ERR' && exact.text.includes('incomplete'));
  t.is(service.recordsServed, 1);
});

// ---------------------------------------------------------------- properties

test('property: the SNAPSHOT record of any valid run, applied to an empty book, gives the book of applying every record', (t) => {
  holds(t, fc.property(bookRunArb, (records) => {
    const store = new SnapshotStore(roomyLimits);
    const book = new OrderBook();
    records.forEach((record, i) => {
      store.ingest(bookMessage(BOOK, 1, i + 1, record));
      book.apply(record);
    });
    const snapshot = decodeMessage(store.get(BOOK)!.frames) as DecodedBook;
    const rebuilt = new OrderBook();
    return snapshot.record.action === 'snapshot' && rebuilt.apply(snapshot.record)
      && fc.stringify([rebuilt.bids(), rebuilt.asks()]) === fc.stringify([book.bids(), book.asks()])
      && snapshot.header.seq === records.length && snapshot.record.exchTs === records.at(-1)!.exchTs;
  }));
});

test('property: whatever records the store misses, a book it serves is the source\'s book at the served seq', (t) => {
  holds(t, fc.property(bookRunArb.chain((records) => fc.tuple(fc.constant(records), fc.array(fc.boolean(), { minLength: records.length, maxLength: records.length }))), ([records, missed]) => {
    const store = new SnapshotStore(roomyLimits);
    const source = new OrderBook();
    records.forEach((record, i) => {
      source.apply(record);
      if (!missed[i]) store.ingest(bookMessage(BOOK, 1, i + 1, record));
      const held: StoredMessage | undefined = store.get(BOOK);
      if (held === undefined) return;
      const snapshot = decodeMessage(held.frames) as DecodedBook;
      if (snapshot.header.seq !== i + 1 && !missed[i]) throw new Error(`served seq ${snapshot.header.seq} after ingesting seq ${i + 1}`);
      if (missed[i]) return; // the store holds an older seq: the source's book then is what it must equal, checked when it was ingested
      if (fc.stringify(snapshot.record.bids) !== fc.stringify(source.bids()) || fc.stringify(snapshot.record.asks) !== fc.stringify(source.asks())) {
        throw new Error(`seq ${i + 1}: served ${fc.stringify(snapshot.record)}, the source holds ${fc.stringify(source.toSnapshot('SIM', 'BTC-USD'))}`);
      }
    });
  }));
});
