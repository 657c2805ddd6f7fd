/**
 * TickSubscriber's late-joiner rules (PROTOCOL.md section 4) against a scripted live stream
 * and a scripted snapshot service: every path of gap repair, epochs and failures, without
 * sockets, so each outcome is exact.
 */
import test from 'ava';
import { SnapshotError, SnapshotUnavailable, TickSubscriber, type TickSubscriberOptions, type Update } from '../../src/client/zmq/index.js';
import type { LiveSource, SnapshotSource } from '../../src/client/zmq/subscriber.js';
import fc from 'fast-check';
import type { BookResync, BookView } from '../../src/client/books.js';
import {
  decodeMessage, encodeBookRecord, encodeMessage, MAX_CLOCK_AHEAD_US, nowMicros,
  type BookLevel, type BookRecord, type DecodedMessage, type RejectReason, type SnapshotErrorCode,
} from '../../src/wire/index.js';
import { BookModel, bookRunArb } from '../wire/_books.js';
import { holdsAsync } from '../wire/_helpers.js';
import { message } from '../snapshot/_helpers.js';

const A = 'tick.X.A';
// The subscriber's waits are unref'd timers (its sockets keep a real process alive); these scripted sources hold no handle.
const keepAlive = setInterval(() => {}, 1_000);
test.after.always(() => clearInterval(keepAlive));
const BASE = nowMicros() - 60_000_000;
/** A message of run `epoch` (later epochs are later runs, by ts). */
const m = (epoch: number, seq: number, ts = BASE + epoch * 1_000_000 + seq): DecodedMessage => message(A, epoch, seq, { ts });

/** The live stream: what the test pushes, in order. */
class ScriptedLive implements LiveSource {
  readonly rejected = new Map<RejectReason, number>();
  private readonly queued: DecodedMessage[] = [];
  private handle: ((message: DecodedMessage) => void) | undefined;
  private ended: (() => void) | undefined;

  push(...messages: DecodedMessage[]): void {
    if (this.handle === undefined) this.queued.push(...messages);
    else for (const message of messages) this.handle(message);
  }

  close(): void {
    this.ended?.();
  }

  forEach(handle: (message: DecodedMessage) => void): Promise<void> {
    this.handle = handle;
    for (const message of this.queued.splice(0)) handle(message);
    return new Promise((resolve) => (this.ended = resolve));
  }
}

/** A reply, an error code, no service answering, or a reply the test gives when it chooses. */
type Answer = DecodedMessage[] | SnapshotErrorCode | 'no answer' | Promise<DecodedMessage[]>;

/** The snapshot service: answers taken in turn per command, the requests it saw recorded. */
class ScriptedSnapshots implements SnapshotSource {
  readonly rejected = new Map<RejectReason, number>();
  failovers = 0;
  readonly requests: string[] = [];
  readonly snapshotAnswers: Answer[] = [];
  private readonly waiters: { count: number; resolve: () => void }[] = [];

  /** Resolves once `count` requests have been made. */
  requested(count: number): Promise<void> {
    if (this.requests.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  private record(request: string): void {
    this.requests.push(request);
    for (const waiter of this.waiters) if (this.requests.length >= waiter.count) waiter.resolve();
  }
  readonly replayAnswers: Answer[] = [];

  snapshot(prefix: string): Promise<DecodedMessage[]> {
    this.record(`SNAPSHOT ${prefix}`);
    return answer(this.snapshotAnswers.shift() ?? []);
  }

  replay(topic: string, epoch: number, fromSeq: number): Promise<DecodedMessage[]> {
    this.record(`REPLAY ${topic} ${epoch} ${fromSeq}`);
    return answer(this.replayAnswers.shift() ?? []);
  }

  close(): void {}
}

function answer(given: Answer): Promise<DecodedMessage[]> {
  if (given instanceof Promise) return given;
  if (Array.isArray(given)) return Promise.resolve(given);
  if (given === 'no answer') return Promise.reject(new SnapshotUnavailable('no snapshot service answered'));
  return Promise.reject(new SnapshotError(given, 'scripted'));
}

/** A subscriber on scripted sources, whose updates are collected as they are applied. */
async function subscriber(initial: Answer = [], options: Partial<TickSubscriberOptions> = {}) {
  const live = new ScriptedLive();
  const snapshots = new ScriptedSnapshots();
  snapshots.snapshotAnswers.push(initial);
  const sub = new TickSubscriber({ endpoint: 'unused', prefix: 'tick.X.', snapshotEndpoints: ['unused'], subscribeSettleMs: 1, verifyDelayMs: 60_000, ...options }, { live, snapshots });
  const updates: Update[] = [];
  let waiting: { count: number; resolve: () => void } | undefined;
  void (async () => {
    for await (const update of sub) {
      updates.push(update);
      if (waiting !== undefined && updates.length >= waiting.count) waiting.resolve();
    }
  })();
  await sub.ready;
  const applied = (count: number): Promise<void> => (updates.length >= count ? Promise.resolve() : new Promise((resolve) => (waiting = { count, resolve })));
  const seen = () => updates.map((u) => `${u.source} ${u.epoch}/${u.seq}`);
  return { sub, live, snapshots, updates, applied, seen };
}

test('a gap is filled from REPLAY, in order, and counted as repaired', async (t) => {
  const s = await subscriber([m(1, 1)]);
  t.teardown(() => s.sub.close());
  s.snapshots.replayAnswers.push([m(1, 2), m(1, 3)]);
  s.live.push(m(1, 4));
  await s.applied(4);
  t.deepEqual(s.seen(), ['snapshot 1/1', 'replay 1/2', 'replay 1/3', 'live 1/4']);
  t.like(s.sub.counters, { gapsDetected: 1, gapsRepaired: 1, resnapshots: 0 });
  t.deepEqual(s.snapshots.requests, ['SNAPSHOT tick.X.', `REPLAY ${A} 1 2`]);
});

test('live messages that come while a gap is repaired wait and follow it in order; past receiveHwm they are dropped, counted, and repaired as the next gap', async (t) => {
  const s = await subscriber([m(1, 1)], { receiveHwm: 2 });
  t.teardown(() => s.sub.close());
  let answerReplay!: (messages: DecodedMessage[]) => void;
  s.snapshots.replayAnswers.push(new Promise((resolve) => (answerReplay = resolve)), [m(1, 7)]);
  s.live.push(m(1, 4), m(1, 5), m(1, 6), m(1, 7));
  await s.snapshots.requested(2);
  t.deepEqual(s.seen(), ['snapshot 1/1'], 'nothing is taken past the gap while its repair is in flight');
  t.is(s.sub.counters.heldOverruns, 1, 'two held (5, 6), the third (7) dropped');
  answerReplay([m(1, 2), m(1, 3)]);
  await s.applied(6);
  t.deepEqual(s.seen(), ['snapshot 1/1', 'replay 1/2', 'replay 1/3', 'live 1/4', 'live 1/5', 'live 1/6']);
  s.live.push(m(1, 8));
  await s.applied(8);
  t.deepEqual(s.seen().slice(6), ['replay 1/7', 'live 1/8']);
  t.like(s.sub.counters, { gapsDetected: 2, gapsRepaired: 2, heldOverruns: 1 });
  t.deepEqual(s.snapshots.requests.slice(1), [`REPLAY ${A} 1 2`, `REPLAY ${A} 1 7`]);
});

test('forEach hands over each update as it is applied; a handler that throws is detached, its forEach rejects, and the other readers go on', async (t) => {
  const s = await subscriber([m(1, 1)]);
  t.teardown(() => s.sub.close());
  const handed: number[] = [];
  const following = s.sub.forEach((update) => handed.push(update.seq));
  const failing = s.sub.forEach((update) => {
    if (update.seq === 3) throw new Error('reader bug');
  });
  s.live.push(m(1, 2), m(1, 3), m(1, 4));
  t.deepEqual(handed, [2, 3, 4], 'synchronously, as each live message is taken');
  await t.throwsAsync(failing, { message: 'reader bug' });
  await s.applied(4);
  t.deepEqual(s.seen(), ['snapshot 1/1', 'live 1/2', 'live 1/3', 'live 1/4']);
  await s.sub.close();
  await t.notThrowsAsync(following, 'resolves at close');
});

test('GONE: the topic is taken afresh from a snapshot, the newer of it and the live message', async (t) => {
  const s = await subscriber([m(1, 1)]);
  t.teardown(() => s.sub.close());
  s.snapshots.replayAnswers.push('GONE');
  s.snapshots.snapshotAnswers.push([m(1, 9)]);
  s.live.push(m(1, 5));
  await s.applied(2);
  t.deepEqual(s.seen(), ['snapshot 1/1', 'snapshot 1/9']);
  t.like(s.sub.counters, { gapsDetected: 1, gapsRepaired: 0, resnapshots: 1 });
  t.deepEqual(s.snapshots.requests.slice(1), [`REPLAY ${A} 1 2`, `SNAPSHOT ${A}`]);
});

test('UNAVAILABLE: the service lags this client; REPLAY is asked again after a short wait and then fills the gap', async (t) => {
  const s = await subscriber([m(1, 1)]);
  t.teardown(() => s.sub.close());
  s.snapshots.replayAnswers.push('UNAVAILABLE', 'UNAVAILABLE', [m(1, 2)]);
  s.live.push(m(1, 3));
  await s.applied(3);
  t.deepEqual(s.seen(), ['snapshot 1/1', 'replay 1/2', 'live 1/3']);
  t.deepEqual(s.snapshots.requests.slice(1), [`REPLAY ${A} 1 2`, `REPLAY ${A} 1 2`, `REPLAY ${A} 1 2`]);
  t.like(s.sub.counters, { gapsRepaired: 1 });
});

test('BAD_REQUEST is never asked again: the topic is taken from a snapshot instead', async (t) => {
  const s = await subscriber([m(1, 1)]);
  t.teardown(() => s.sub.close());
  s.snapshots.replayAnswers.push('BAD_REQUEST');
  s.snapshots.snapshotAnswers.push([m(1, 1)]);
  s.live.push(m(1, 4));
  await s.applied(2);
  t.deepEqual(s.snapshots.requests.slice(1), [`REPLAY ${A} 1 2`, `SNAPSHOT ${A}`]);
  t.deepEqual(s.seen(), ['snapshot 1/1', 'live 1/4'], 'the snapshot was older than the live message, a full record: that is taken');
  t.like(s.sub.counters, { resnapshots: 1 });
});

test('no service answers: the gap is skipped (the live message is a full record) and repairs pause rather than stall each gap', async (t) => {
  const s = await subscriber([m(1, 1)]);
  t.teardown(() => s.sub.close());
  s.snapshots.replayAnswers.push('no answer');
  s.live.push(m(1, 3), m(1, 6));
  await s.applied(3);
  t.deepEqual(s.seen(), ['snapshot 1/1', 'live 1/3', 'live 1/6']);
  t.like(s.sub.counters, { gapsDetected: 2, gapsSkipped: 2, gapsRepaired: 0 });
  t.deepEqual(s.snapshots.requests.slice(1), [`REPLAY ${A} 1 2`], 'the second gap came while repairs were paused');
});

test('a new epoch (a later run) resets the topic; a previous run\'s leftover is dropped as stale; a duplicate is dropped', async (t) => {
  const s = await subscriber([m(1, 5)]);
  t.teardown(() => s.sub.close());
  s.live.push(m(1, 5), m(2, 1), m(1, 6), m(2, 2));
  await s.applied(3);
  t.deepEqual(s.seen(), ['snapshot 1/5', 'live 2/1', 'live 2/2']);
  t.like(s.sub.counters, { duplicates: 1, resets: 1, stale: 1 });
  t.is(s.snapshots.requests.length, 1, 'none of these needs the snapshot service');
});

test('one hostile message of another epoch with ts = 2^53-1 holds the topic only until the source\'s next message', async (t) => {
  const s = await subscriber([m(1, 5)]);
  t.teardown(() => s.sub.close());
  const hostile = message(A, 424242, 1, { ts: 2 ** 53 - 1 });
  s.live.push(hostile, m(1, 6), m(1, 7));
  await s.applied(4);
  t.deepEqual(s.seen(), ['snapshot 1/5', 'live 424242/1', 'live 1/6', 'live 1/7']);
  t.like(s.sub.get(A), { epoch: 1, seq: 7 });
  t.true(hostile.header.ts > nowMicros() + MAX_CLOCK_AHEAD_US);
});

test('the initial snapshot is asked again while the service answers UNAVAILABLE (bounded)', async (t) => {
  const live = new ScriptedLive();
  const snapshots = new ScriptedSnapshots();
  snapshots.snapshotAnswers.push('UNAVAILABLE', 'UNAVAILABLE', [m(1, 3)]);
  const sub = new TickSubscriber({ endpoint: 'unused', prefix: 'tick.X.', snapshotEndpoints: ['unused'], subscribeSettleMs: 1 }, { live, snapshots });
  t.teardown(() => sub.close());
  await sub.ready;
  t.like(sub.get(A), { epoch: 1, seq: 3 });
  t.deepEqual(snapshots.requests, ['SNAPSHOT tick.X.', 'SNAPSHOT tick.X.', 'SNAPSHOT tick.X.']);

  const never = new ScriptedSnapshots();
  never.snapshotAnswers.push(...Array.from({ length: 20 }, () => 'UNAVAILABLE' as const));
  const refused = new TickSubscriber({ endpoint: 'unused', prefix: 'tick.X.', snapshotEndpoints: ['unused'], subscribeSettleMs: 1 }, { live: new ScriptedLive(), snapshots: never });
  t.teardown(() => refused.close());
  const err = await t.throwsAsync(refused.ready, { instanceOf: SnapshotError });
  t.is(err.code, 'UNAVAILABLE');
  t.true(never.requests.length > 3 && never.requests.length < 20, `gave up after ${never.requests.length} attempts`);
});

test('rejects of the live stream and of snapshot replies add up by reason', async (t) => {
  const s = await subscriber();
  t.teardown(() => s.sub.close());
  s.live.rejected.set('header', 2);
  s.snapshots.rejected.set('header', 1);
  s.snapshots.rejected.set('reply', 4);
  t.deepEqual(Object.fromEntries(s.sub.rejected), { header: 3, reply: 4 });
});

test('a check against a snapshot that finds the state behind is followed by another once quiet, until one finds nothing', async (t) => {
  const live = new ScriptedLive();
  const snapshots = new ScriptedSnapshots();
  // The initial snapshot; a first check whose snapshot is itself not yet at the end; a second that is; a third that finds nothing.
  snapshots.snapshotAnswers.push([m(1, 1)], [m(1, 5)], [m(1, 7)], [m(1, 7)]);
  const sub = new TickSubscriber({ endpoint: 'unused', prefix: 'tick.X.', snapshotEndpoints: ['unused'], subscribeSettleMs: 1, verifyDelayMs: 20 }, { live, snapshots });
  t.teardown(() => sub.close());
  await sub.ready;
  live.push(m(1, 2)); // traffic, then quiet: the messages after it were lost
  const reached = (async () => {
    for await (const update of sub) if (update.seq === 7) return;
  })();
  await reached;
  t.like(sub.get(A), { epoch: 1, seq: 7 });
  t.like(sub.counters, { verifyRepairs: 2 });
  // Four snapshots, and a REPLAY for the seqs in between before each of the two repairs.
  await snapshots.requested(6);
  t.is(sub.counters.verifications, 3, 'a third check, which finds nothing and ends the series');
  const snapshotRequests = snapshots.requests.filter((r) => r.startsWith('SNAPSHOT'));
  t.deepEqual(snapshotRequests, ['SNAPSHOT tick.X.', 'SNAPSHOT tick.X.', 'SNAPSHOT tick.X.', 'SNAPSHOT tick.X.']);
});

test('a check that finds the state behind asks REPLAY for the seqs in between, so every seq is applied in order; a seq REPLAY no longer has becomes the jump', async (t) => {
  const live = new ScriptedLive();
  const snapshots = new ScriptedSnapshots();
  snapshots.snapshotAnswers.push([m(1, 1)], [m(1, 5)], [m(1, 9)]);
  // The first check's REPLAY has everything in between; the second's is GONE.
  snapshots.replayAnswers.push([m(1, 3), m(1, 4), m(1, 5)], 'GONE');
  const sub = new TickSubscriber({ endpoint: 'unused', prefix: 'tick.X.', snapshotEndpoints: ['unused'], subscribeSettleMs: 1, verifyDelayMs: 20 }, { live, snapshots });
  t.teardown(() => sub.close());
  const updates: string[] = [];
  const reached = (async () => {
    for await (const update of sub) {
      updates.push(`${update.source} ${update.seq}`);
      if (update.seq === 9) return;
    }
  })();
  await sub.ready;
  live.push(m(1, 2));
  await reached;
  t.deepEqual(updates, ['snapshot 1', 'live 2', 'replay 3', 'replay 4', 'snapshot 5', 'snapshot 9']);
  t.deepEqual(snapshots.requests.filter((r) => r.startsWith('REPLAY')), [`REPLAY ${A} 1 3`, `REPLAY ${A} 1 6`]);
});

const BOOK = 'book.X.A';
/** A message of BOOK carrying `record` (its venue and symbol made the topic's), of run 1 unless told. */
function bookMessage(seq: number, record: BookRecord, epoch = 1): DecodedMessage {
  const payload = encodeBookRecord({ ...record, venue: 'X', symbol: 'A' });
  return decodeMessage(encodeMessage(BOOK, { flags: 0, epoch, seq, ts: BASE + epoch * 1_000_000 + seq }, payload));
}

/** A valid record of `action` with these levels, carrying the checksum of `model` after it. */
function bookRecord(model: BookModel, action: 'snapshot' | 'update', bids: BookLevel[], asks: BookLevel[] = []): BookRecord {
  const record: BookRecord = { venue: 'X', symbol: 'A', action, bids, asks, checksum: 0 };
  model.apply(record);
  return { ...record, checksum: model.checksum() };
}

function levels(book: BookView | undefined): { bids: BookLevel[]; asks: BookLevel[] } | undefined {
  return book === undefined ? undefined : { bids: book.bids(), asks: book.asks() };
}

test('property: a book taken from the snapshot and then live records is the source\'s, with no resync', async (t) => {
  await holdsAsync(t, fc.asyncProperty(bookRunArb, async (records) => {
    const s = await subscriber([bookMessage(1, records[0]!)], { prefix: 'book.X.' });
    try {
      s.live.push(...records.slice(1).map((record, i) => bookMessage(i + 2, record)));
      await s.applied(records.length);
      const model = new BookModel();
      for (const record of records) model.apply(record);
      const book = s.sub.book(BOOK);
      return JSON.stringify(levels(book)) === JSON.stringify(model.sorted()) && book!.checksum() === model.checksum()
        && book!.seq === records.length && s.sub.counters.bookResyncs === 0;
    } finally {
      await s.sub.close();
    }
  }), { numRuns: 30 });
});

test('a record after which the checksum does not match drops the book (counted, told) and takes its topic afresh from a snapshot; later records wait for it', async (t) => {
  const source = new BookModel();
  const resyncs: BookResync[] = [];
  const s = await subscriber([bookMessage(1, bookRecord(source, 'snapshot', [[10, 1], [9, 1]], [[11, 1]]))], { prefix: 'book.X.', onBookResync: (resync) => resyncs.push(resync) });
  t.teardown(() => s.sub.close());
  let answerSnapshot!: (messages: DecodedMessage[]) => void;
  s.snapshots.snapshotAnswers.push(new Promise((resolve) => (answerSnapshot = resolve)));
  s.live.push(bookMessage(2, bookRecord(source, 'update', [[10, 2]])));
  t.deepEqual(levels(s.sub.book(BOOK)), source.sorted());
  const before = s.sub.book(BOOK)!;
  s.live.push(bookMessage(3, { ...bookRecord(source, 'update', [[8, 1]]), checksum: 1 }));
  t.is(s.sub.book(BOOK), undefined, 'dropped at once: never a wrong book');
  t.false(before.held);
  t.is(s.sub.counters.bookResyncs, 1);
  t.like(resyncs[0], { topic: BOOK, epoch: 1, seq: 3, reason: 'checksum' });
  t.regex(resyncs[0]!.message, /book\.X\.A epoch 1 seq 3: the book's checksum after this update is \d+, the record says 1/);
  const next = bookRecord(source, 'update', [], [[12, 3]]);
  s.live.push(bookMessage(4, next));
  await s.snapshots.requested(2);
  t.deepEqual(s.snapshots.requests, ['SNAPSHOT book.X.', `SNAPSHOT ${BOOK}`]);
  // The source's book at seq 3, as the snapshot service keeps it.
  answerSnapshot([bookMessage(3, bookRecord(new BookModel(), 'snapshot', [[10, 2], [9, 1], [8, 1]], [[11, 1]]))]);
  await s.applied(4);
  t.deepEqual(s.seen(), ['snapshot 1/1', 'live 1/2', 'live 1/3', 'live 1/4'], 'the snapshot at the held seq rebuilt the book alone: the readers have seq 3');
  t.deepEqual(levels(s.sub.book(BOOK)), source.sorted(), 'rebuilt from the snapshot, then the held update applied');
  t.is(s.sub.book(BOOK)!.checksum(), next.checksum);
  t.is(s.sub.counters.bookResyncs, 1);
});

test('an update of a book topic the snapshot did not hold is no book: the topic is taken from a snapshot; one that still has none is not asked again at once', async (t) => {
  const source = new BookModel();
  const s = await subscriber([], { prefix: 'book.X.' });
  t.teardown(() => s.sub.close());
  const fresh = bookRecord(source, 'snapshot', [[5, 1]]);
  s.snapshots.snapshotAnswers.push([bookMessage(6, fresh)]);
  s.live.push(bookMessage(5, bookRecord(new BookModel(), 'update', [[4, 1]])));
  await s.applied(2);
  t.deepEqual(s.seen(), ['live 1/5', 'snapshot 1/6']);
  t.is(s.sub.counters.bookResyncs, 1);
  t.deepEqual(levels(s.sub.book(BOOK)), source.sorted());

  // A snapshot that cannot rebuild the book (the service has only an update): it stays dropped.
  s.live.push(bookMessage(7, { ...bookRecord(source, 'update', [[4, 2]]), checksum: 0 }));
  s.snapshots.snapshotAnswers.push([bookMessage(7, bookRecord(new BookModel(), 'update', [[4, 2]]))]);
  await s.snapshots.requested(3);
  s.live.push(bookMessage(8, bookRecord(source, 'update', [[3, 1]])));
  await s.applied(4);
  t.is(s.sub.book(BOOK), undefined);
  t.is(s.snapshots.requests.length, 3, 'the next record, within BOOK_RENEW_INTERVAL_MS, asks nothing');
  t.is(s.sub.counters.bookResyncs, 2);
});
