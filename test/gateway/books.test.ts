/**
 * Books and trades in the gateway's cache and sessions (PROTOCOL.md section 8): scripted upstream
 * records of random books, applied to a real EventCache and offered to a Session as the gateway
 * does, and a client that keeps the book from what it is sent and checks every event.
 */
import test from 'ava';
import fc from 'fast-check';
import type { WebSocket } from 'ws';
import { EventCache, type CachedUpdate } from '../../src/gateway/cache.js';
import { Session } from '../../src/gateway/session.js';
import { encodeBookRecord, encodeTradeRecord, type BookRecord, type TradeRecord } from '../../src/wire/index.js';
import { BookSource, ClientBook, seededRandom, type BookEvent } from './_books.js';
import { FakeSocket } from './_fake-socket.js';

const TOPIC = 'book.V.A';
const TICKS = 'tick.V.T';
const HIGH_WATER = 1000;
const EPOCH = 7;

function bookUpdate(record: BookRecord, seq: number, epoch = EPOCH, topic = TOPIC): CachedUpdate {
  return { topic, epoch, seq, ts: epoch * 1e9 + seq, payload: encodeBookRecord(record), record };
}

/** A session fed as the gateway feeds it, over a cache holding a book topic and a tick topic. */
function bookSession(historyPerTopic: number, maxQueuedEvents = 5) {
  const cache = new EventCache(historyPerTopic);
  const socket = new FakeSocket();
  const s = new Session('test', socket as unknown as WebSocket, { bufferedHighWater: HIGH_WATER, maxQueuedEvents, conflationHoldMs: 0 }, () => {}, {
    clock: () => cache.clock,
    *changedSince(since) {
      for (const topic of [TOPIC, TICKS]) {
        const changed = cache.changedSince(topic, since);
        if (changed !== undefined) yield changed;
      }
    },
    bookSince: (topic, from) => cache.bookSince(topic, from),
  });
  const live = (update: CachedUpdate): void => {
    const event = cache.apply(update);
    if (event !== undefined) s.offerLive(update.topic, update.epoch, update.seq, event);
  };
  return { cache, socket, s, live };
}

/** Applies every book event sent so far (from event index `from`) to `client`; returns the index to go on from. */
function read(socket: FakeSocket, client: ClientBook, from: number): number {
  const events = socket.events<BookEvent>().filter((e) => e.topic === TOPIC);
  for (const event of events.slice(from)) client.apply(event);
  return events.length;
}

test('the snapshot event of a book topic is the whole book at the held seq, made once and shared until the next record', (t) => {
  const cache = new EventCache(8);
  const source = new BookSource('V', 'A', seededRandom(1));
  t.regex(cache.apply(bookUpdate(source.snapshot(true), 1))!.text, /^\{"type":"snapshot",/, 'a book topic that appears: its followers\' first event is a snapshot event');
  for (let seq = 2; seq <= 20; seq++) cache.apply(bookUpdate(source.update(), seq));
  const snapshot = cache.snapshot(TOPIC)!;
  t.like(snapshot, { epoch: EPOCH, seq: 20 });
  t.is(cache.snapshot(TOPIC)!.event, snapshot.event, 'shared');
  const event = JSON.parse(snapshot.event.text) as BookEvent & { data: BookRecord };
  t.like(event, { type: 'snapshot', topic: TOPIC, epoch: EPOCH, seq: 20 });
  t.is(event.data.action, 'snapshot');
  t.is(JSON.stringify({ bids: event.data.bids, asks: event.data.asks }), source.book);
  t.is(event.data.checksum, source.checksum);
  cache.apply(bookUpdate(source.update(), 21));
  t.not(cache.snapshot(TOPIC)!.event, snapshot.event, 'rebuilt after the next record');
});

test('property: a subscriber\'s snapshot and live events, applied in order, give the source\'s book after every event', (t) => {
  t.notThrows(() => fc.assert(fc.property(fc.integer(), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 30 }), (seed, joinAt, after) => {
    const cache = new EventCache(16);
    const source = new BookSource('V', 'A', seededRandom(seed));
    const client = new ClientBook();
    let seq = 0;
    cache.apply(bookUpdate(source.snapshot(true), ++seq));
    while (seq < joinAt) cache.apply(bookUpdate(seq % 17 === 0 ? source.snapshot(true) : source.update(), ++seq));
    client.apply(JSON.parse(cache.snapshot(TOPIC)!.event.text) as BookEvent);
    if (client.levels !== source.book) throw new Error('the snapshot is not the source\'s book');
    for (let i = 0; i < after; i++) {
      const event = cache.apply(bookUpdate(i % 11 === 10 ? source.snapshot(true) : source.update(), ++seq))!;
      client.apply(JSON.parse(event.text) as BookEvent);
      if (client.levels !== source.book) throw new Error(`after seq ${seq} the client's book is not the source's`);
    }
  }), { numRuns: 200 }));
});

test('property: a conflating client reading slowly gets every book event checksum-true, ends with exactly the source\'s book, and has at most one pending book change while conflating', (t) => {
  t.notThrows(() => fc.assert(fc.property(
    fc.integer(),
    fc.integer({ min: 2, max: 40 }),
    fc.array(fc.record({ records: fc.integer({ min: 0, max: 12 }), full: fc.boolean(), resnapshot: fc.integer({ min: 0, max: 20 }) }), { minLength: 5, maxLength: 60 }),
    (seed, history, steps) => {
      const { cache, socket, s, live } = bookSession(history);
      const source = new BookSource('V', 'A', seededRandom(seed));
      const client = new ClientBook();
      let seq = 0;
      let tickSeq = 0;
      // Held before the client subscribes: its first event is the snapshot.
      cache.apply(bookUpdate(source.snapshot(true), ++seq));
      const first = cache.snapshot(TOPIC)!;
      s.offer(TOPIC, first.epoch, first.seq, first.event);
      let read_ = 0;
      for (const step of steps) {
        socket.bufferedAmount = step.full ? HIGH_WATER + 1 : 0;
        for (let i = 0; i < step.records; i++) {
          live(bookUpdate(step.resnapshot === 0 && i === 0 ? source.snapshot(true) : source.update(), ++seq));
          live({ topic: TICKS, epoch: EPOCH, seq: ++tickSeq, ts: tickSeq, payload: Buffer.from(`{"venue":"V","symbol":"T","bid":${tickSeq}}`) });
        }
        // The book topic and the tick topic: one pending change each, however many records came.
        if (s.conflating && s.pending > 2) throw new Error(`${s.pending} pending while conflating`);
        s.flush();
        read_ = read(socket, client, read_);
      }
      socket.bufferedAmount = 0;
      s.flush();
      s.flush();
      read(socket, client, read_);
      if (client.levels !== source.book || client.checksum !== source.checksum) throw new Error('the client does not end with the source\'s book');
      if (client.seq !== seq) throw new Error(`the client ends at seq ${client.seq}, not ${seq}`);
      if (s.conflating) throw new Error('still conflating once drained');
    },
  ), { numRuns: 300 }));
});

test('a client behind while many records come gets one merged update per frame, shared by clients last sent the same seq', (t) => {
  const { cache, socket, s, live } = bookSession(200);
  const source = new BookSource('V', 'A', seededRandom(5));
  const client = new ClientBook();
  cache.apply(bookUpdate(source.snapshot(true), 1));
  s.offer(TOPIC, EPOCH, 1, cache.snapshot(TOPIC)!.event);
  s.flush();
  socket.bufferedAmount = HIGH_WATER + 1;
  for (let seq = 2; seq <= 101; seq++) live(bookUpdate(source.update(), seq));
  t.true(s.conflating);
  socket.bufferedAmount = 0;
  s.flush();
  read(socket, client, 0);
  t.is(client.levels, source.book);
  t.is(client.seq, 101);
  t.true(client.events <= 8, `${client.events} events for 101 records: the ones queued before falling behind, then one merge`);
  const merged = cache.bookSince(TOPIC, { epoch: EPOCH, seq: 50 })!;
  t.is(cache.bookSince(TOPIC, { epoch: EPOCH, seq: 50 })!.event, merged.event, 'one merged event per (topic, from seq)');
  t.not(cache.bookSince(TOPIC, { epoch: EPOCH, seq: 60 })!.event, merged.event);
  t.is(cache.bookSince(TOPIC, { epoch: EPOCH, seq: 100 })!.event, cache.changedSince(TOPIC, cache.clock - 1)!.event, 'one record missed: its own tick event');
  t.is(cache.bookSince(TOPIC, { epoch: EPOCH, seq: 101 }), undefined, 'up to date');
  t.regex(cache.bookSince(TOPIC, { epoch: EPOCH + 1, seq: 50 })!.event.text, /^\{"type":"tick",.*"action":"snapshot"/, 'another epoch: the whole book, as a live snapshot record');
});

test('a merge the history no longer reaches back to is the whole book: a tick event whose record is a snapshot (the client had live events of the topic)', (t) => {
  const cache = new EventCache(4);
  const source = new BookSource('V', 'A', seededRandom(9));
  cache.apply(bookUpdate(source.snapshot(true), 1));
  const clock = cache.clock;
  for (let seq = 2; seq <= 10; seq++) cache.apply(bookUpdate(source.update(), seq));
  for (const change of [cache.bookSince(TOPIC, { epoch: EPOCH, seq: 3 })!, cache.changedSince(TOPIC, clock)!]) {
    const event = JSON.parse(change.event.text) as BookEvent & { data: BookRecord };
    t.like(event, { type: 'tick', seq: 10, data: { action: 'snapshot' } });
    t.is(JSON.stringify({ bids: event.data.bids, asks: event.data.asks }), source.book);
  }
  t.regex(cache.bookSince(TOPIC, { epoch: EPOCH, seq: 6 })!.event.text, /^\{"type":"tick",.*"action":"update"/, 'from seq 7, the oldest held: a merged update');
});

test('since: within history the missed records in order, beyond it (another epoch) the whole book; either ends with the source\'s book', (t) => {
  const cache = new EventCache(10);
  const source = new BookSource('V', 'A', seededRandom(3));
  const client = new ClientBook();
  cache.apply(bookUpdate(source.snapshot(true), 1));
  client.apply(JSON.parse(cache.snapshot(TOPIC)!.event.text) as BookEvent);
  for (let seq = 2; seq <= 6; seq++) client.apply(JSON.parse(cache.apply(bookUpdate(source.update(), seq))!.text) as BookEvent);
  for (let seq = 7; seq <= 12; seq++) cache.apply(bookUpdate(source.update(), seq));
  const within = cache.resume(TOPIC, EPOCH, 6);
  t.is(within.kind, 'events');
  if (within.kind === 'events') for (const { event } of within.events) client.apply(JSON.parse(event.text) as BookEvent);
  t.is(client.levels, source.book);
  for (let seq = 13; seq <= 40; seq++) cache.apply(bookUpdate(source.update(), seq));
  t.is(cache.resume(TOPIC, EPOCH, 12).kind, 'not_retained', 'beyond the history: the gateway asks REPLAY, or sends the snapshot');
  const restarted = new BookSource('V', 'A', seededRandom(4));
  cache.apply(bookUpdate(restarted.snapshot(true), 1, EPOCH + 1, TOPIC));
  cache.apply(bookUpdate(restarted.update(), 2, EPOCH + 1, TOPIC));
  const fresh = cache.resume(TOPIC, EPOCH, 40);
  t.is(fresh.kind, 'snapshot');
  if (fresh.kind === 'snapshot') client.apply(JSON.parse(fresh.event.event.text) as BookEvent);
  t.is(client.levels, restarted.book);
});

test('a record that breaks the book makes it unknown, counted by reason, until the next snapshot record', (t) => {
  const cache = new EventCache(10);
  const source = new BookSource('V', 'A', seededRandom(6));
  const breaks = (): Record<string, number> => Object.fromEntries(cache.bookBreakCounts);
  cache.apply(bookUpdate(source.update(), 1));
  t.is(cache.snapshot(TOPIC), undefined, 'an update first: no book');
  t.like(breaks(), { no_snapshot: 1 });
  cache.apply(bookUpdate(source.snapshot(), 2));
  t.truthy(cache.snapshot(TOPIC), 'known from the snapshot record');
  const clock = cache.clock;
  const bad = { ...source.update(), checksum: 1 };
  t.truthy(cache.apply(bookUpdate(bad, 3)), 'passed on as published to live clients');
  t.is(cache.snapshot(TOPIC), undefined);
  t.is(cache.changedSince(TOPIC, clock), undefined, 'no merge for conflating clients');
  t.is(cache.bookSince(TOPIC, { epoch: EPOCH, seq: 2 }), undefined);
  t.is(cache.resume(TOPIC, EPOCH + 1, 1).kind, 'book_unknown');
  for (let seq = 4; seq <= 6; seq++) cache.apply(bookUpdate(source.update(), seq));
  t.is(cache.snapshot(TOPIC), undefined, 'updates do not bring it back');
  t.like(breaks(), { checksum: 1, gap: 0, no_snapshot: 1, too_deep: 0 }, 'counted once');
  cache.apply(bookUpdate(source.snapshot(), 7));
  const snapshot = JSON.parse(cache.snapshot(TOPIC)!.event.text) as BookEvent & { data: BookRecord };
  t.is(JSON.stringify({ bids: snapshot.data.bids, asks: snapshot.data.asks }), source.book);
  t.regex(cache.changedSince(TOPIC, clock)!.event.text, /"action":"snapshot"/, 'the conflating client\'s merge holds the snapshot record: it replaces');
  cache.apply(bookUpdate(source.update(), 9));
  t.is(cache.snapshot(TOPIC), undefined, 'a gap upstream did not repair breaks it, whatever the checksum says');
  t.like(breaks(), { gap: 1 });
});

test('trades are state like ticks: snapshot of the newest, live, since from history, conflation to the newest', (t) => {
  const topic = 'trade.V.A';
  const trade = (n: number): TradeRecord => ({ venue: 'V', symbol: 'A', price: 100 + n, size: 1, side: n % 2 ? 'buy' : 'sell', tradeId: `T${n}` });
  const update = (n: number): CachedUpdate => ({ topic, epoch: EPOCH, seq: n, ts: n, payload: encodeTradeRecord(trade(n)), record: trade(n) });
  const cache = new EventCache(10);
  for (let n = 1; n <= 5; n++) t.is((JSON.parse(cache.apply(update(n))!.text) as BookEvent).seq, n);
  const snapshot = JSON.parse(cache.snapshot(topic)!.event.text) as BookEvent;
  t.like(snapshot, { type: 'snapshot', seq: 5, data: trade(5) });
  const resumed = cache.resume(topic, EPOCH, 2);
  t.deepEqual(resumed.kind === 'events' ? resumed.events.map((e) => (JSON.parse(e.event.text) as BookEvent).data) : [], [trade(3), trade(4), trade(5)]);
  const clock = cache.clock;
  for (let n = 6; n <= 9; n++) cache.apply(update(n));
  t.like(JSON.parse(cache.changedSince(topic, clock)!.event.text), { type: 'tick', seq: 9, data: trade(9) }, 'a conflating client gets the newest trade');
});
