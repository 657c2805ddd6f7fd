import test from 'ava';
import fc from 'fast-check';
import { TopicBook, type BookCounters } from '../../src/client/ws/book.js';
import type { RecordEvent } from '../../src/wire/websocket.js';
import { nowMicros } from '../../src/wire/time.js';

/** The SDK's topic book without a socket: subscriptions, the held state, the one ordering rule. */

const OPTIONS = { snapshot: true, conflate: true };

function book(): { book: TopicBook; counters: BookCounters } {
  const counters: BookCounters = { applied: 0, duplicates: 0, stale: 0, unsolicited: 0, skipped: 0, resets: 0 };
  return { book: new TopicBook(counters), counters };
}

function event(topic: string, epoch: number, seq: number, ts = seq * 1000, type: 'snapshot' | 'tick' = 'tick'): RecordEvent {
  return { type, topic, epoch, seq, ts, data: { venue: 'V', symbol: topic.split('.')[2]!, last: seq } };
}

test('an event no acknowledged subscription matches is dropped as unsolicited', (t) => {
  const { book: b, counters } = book();
  t.is(b.apply(event('tick.V.A', 1, 1)), undefined);
  b.subscribe(['tick.V.B*'], OPTIONS);
  t.is(b.apply(event('tick.V.A', 1, 1)), undefined);
  t.is(counters.unsolicited, 2);
  t.is(b.held.size, 0);
  t.truthy(b.apply(event('tick.V.BX', 1, 1)), 'a prefix pattern matches');
});

test('within an epoch: the first event, the next, a gap (skipped counted), duplicates and older seqs dropped', (t) => {
  const { book: b, counters } = book();
  b.subscribe(['tick.V.*'], OPTIONS);
  t.like(b.apply(event('tick.V.A', 7, 10, 10_000, 'snapshot')), { kind: 'snapshot', seq: 10, previous: undefined, skipped: 0, reset: false });
  t.like(b.apply(event('tick.V.A', 7, 11)), { kind: 'tick', seq: 11, previous: { epoch: 7, seq: 10 }, skipped: 0 });
  t.like(b.apply(event('tick.V.A', 7, 15)), { seq: 15, previous: { epoch: 7, seq: 11 }, skipped: 3 });
  t.is(b.apply(event('tick.V.A', 7, 15)), undefined);
  t.is(b.apply(event('tick.V.A', 7, 12)), undefined);
  t.like(b.held.get('tick.V.A'), { epoch: 7, seq: 15 });
  t.like(counters, { applied: 3, duplicates: 2, skipped: 3, stale: 0, resets: 0 });
});

test('another epoch: newer by ts replaces the state (a reset); older by ts is a previous run and dropped as stale', (t) => {
  const { book: b, counters } = book();
  b.subscribe(['tick.V.A'], OPTIONS);
  b.apply(event('tick.V.A', 1, 100, 5_000));
  t.is(b.apply(event('tick.V.A', 2, 900, 4_000)), undefined, 'an older run');
  t.like(b.apply(event('tick.V.A', 3, 1, 6_000)), { epoch: 3, seq: 1, reset: true, skipped: 0, previous: { epoch: 1, seq: 100 } });
  t.like(counters, { applied: 2, stale: 1, resets: 1 });
});

test('a held state claiming a time beyond the allowed clock lead outranks no other run (the one rule of wire/order.ts)', (t) => {
  const { book: b, counters } = book();
  b.subscribe(['tick.V.A'], OPTIONS);
  b.apply(event('tick.V.A', 1, 1, 2 ** 53 - 1));
  t.like(b.apply(event('tick.V.A', 2, 1, nowMicros())), { epoch: 2, reset: true });
  t.is(counters.stale, 0);
});

test('unsubscribe drops the state of topics no remaining subscription matches, and keeps the others', (t) => {
  const { book: b } = book();
  b.subscribe(['tick.V.*', 'tick.V.A'], OPTIONS);
  b.subscribe(['tick.W.B'], { snapshot: false, conflate: false });
  for (const topic of ['tick.V.A', 'tick.V.C', 'tick.W.B']) b.apply(event(topic, 1, 1));
  b.unsubscribe(['tick.V.*']);
  t.deepEqual([...b.held.keys()].sort(), ['tick.V.A', 'tick.W.B']);
  t.false(b.subscribed('tick.V.C'));
  t.deepEqual([...b.subscriptions], [['tick.V.A', OPTIONS], ['tick.W.B', { snapshot: false, conflate: false }]]);
});

test('statuses: the last of each venue', (t) => {
  const { book: b } = book();
  b.setStatus({ type: 'status', venue: 'V', state: 'stale' });
  b.setStatus({ type: 'status', venue: 'V', state: 'up' });
  t.is(b.status('V')?.state, 'up');
  t.is(b.status('W'), undefined);
});

test('property: within one epoch the held seq is the highest applied; every event is applied, a duplicate or counted as skipped', (t) => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 200 }), (seqs) => {
    const { book: b, counters } = book();
    b.subscribe(['*'], OPTIONS);
    let highest = 0;
    const applied: number[] = [];
    for (const seq of seqs) {
      const update = b.apply(event('tick.V.A', 1, seq));
      if (update !== undefined) {
        applied.push(seq);
        if (update.skipped !== (highest === 0 ? 0 : seq - highest - 1)) return false;
      }
      highest = Math.max(highest, seq);
    }
    const strictlyIncreasing = applied.every((seq, i) => i === 0 || seq > applied[i - 1]!);
    return strictlyIncreasing && b.held.get('tick.V.A')?.seq === (seqs.length === 0 ? undefined : highest)
      && counters.applied + counters.duplicates === seqs.length;
  }));
  t.pass();
});
