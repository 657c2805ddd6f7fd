import test from 'ava';
import fc from 'fast-check';
import { EventCache, type CachedUpdate, type ResumeAnswer } from '../../src/gateway/cache.js';

const TOPIC = 'tick.V.A';

function update(seq: number, epoch = 7, topic = TOPIC, ts = epoch * 1_000_000 + seq): CachedUpdate {
  return { topic, epoch, seq, ts, payload: Buffer.from(`{"venue":"V","symbol":"A","bid":${seq}.5,"x":"\u00e9"}`) };
}

/** The seqs an answer carries, or 'snapshot@seq' / 'not_retained' / 'nothing'. */
function describe(answer: ResumeAnswer): number[] | string {
  if (answer.kind === 'events') return answer.events.map((e) => e.seq);
  if (answer.kind === 'snapshot') return `snapshot@${answer.event.seq}`;
  return answer.kind;
}

test('apply builds the tick event text once, with the payload embedded verbatim', (t) => {
  const cache = new EventCache(10);
  const event = cache.apply(update(1))!;
  const { text } = event;
  t.is(event.topic, TOPIC);
  t.is(text, `{"type":"tick","topic":"tick.V.A","epoch":7,"seq":1,"ts":7000001,"data":{"venue":"V","symbol":"A","bid":1.5,"x":"\u00e9"}}`);
  t.deepEqual(JSON.parse(text), { type: 'tick', topic: TOPIC, epoch: 7, seq: 1, ts: 7000001, data: { venue: 'V', symbol: 'A', bid: 1.5, x: 'é' } });
  const snapshot = cache.snapshot(TOPIC)!;
  t.is(snapshot.event.text, text.replace('"type":"tick"', '"type":"snapshot"'));
  t.is(snapshot.event.topic, TOPIC);
  t.is(snapshot.seq, 1);
  t.is(snapshot.epoch, 7);
  t.is(cache.snapshot('tick.V.none'), undefined);
});

test('apply dedupes: the same or an older seq of the held epoch, or an older epoch by ts, returns undefined', (t) => {
  const cache = new EventCache(10);
  t.truthy(cache.apply(update(5)));
  t.is(cache.apply(update(5)), undefined, 'the same update twice (overlapping upstream prefixes)');
  t.is(cache.apply(update(4)), undefined, 'older');
  t.truthy(cache.apply(update(6)));
  t.is(cache.apply(update(100, 9, TOPIC, 1)), undefined, 'another epoch published earlier: a leftover of a previous run');
  t.truthy(cache.apply(update(1, 9, TOPIC, 8_000_000)), 'another epoch published later: the source restarted');
  t.is(cache.snapshot(TOPIC)!.epoch, 9);
  t.is(cache.snapshot(TOPIC)!.seq, 1);
  t.is(cache.apply(update(7, 7)), undefined, 'the old epoch does not come back');
});

test('history: contiguous, capped at historyPerTopic, restarted by a gap or a new epoch', (t) => {
  const cache = new EventCache(5);
  for (let seq = 1; seq <= 12; seq++) cache.apply(update(seq));
  t.deepEqual(describe(cache.resume(TOPIC, 7, 7)), [8, 9, 10, 11, 12], 'the last 5');
  t.is(describe(cache.resume(TOPIC, 7, 6)), 'not_retained', 'one further back is no longer retained');
  cache.apply(update(14));
  t.deepEqual(describe(cache.resume(TOPIC, 7, 13)), [14]);
  t.is(describe(cache.resume(TOPIC, 7, 12)), 'not_retained', 'history restarted at the gap: 13 was never held');
  cache.apply(update(15));
  t.deepEqual(describe(cache.resume(TOPIC, 7, 13)), [14, 15]);
  cache.apply(update(1, 8, TOPIC, 9_000_000));
  t.is(describe(cache.resume(TOPIC, 7, 14)), 'snapshot@1', 'the epoch changed');
  t.deepEqual(describe(cache.resume(TOPIC, 8, 0)), [1], 'the new epoch from its start');
});

test('resume: the missed ticks in order, nothing when up to date, a snapshot when the epoch differs, not_retained when history is too old', (t) => {
  const cache = new EventCache(100);
  for (let seq = 1; seq <= 20; seq++) cache.apply(update(seq));
  const answer = cache.resume(TOPIC, 7, 15);
  t.is(answer.kind, 'events');
  if (answer.kind !== 'events') return;
  t.deepEqual(answer.events.map((e) => e.seq), [16, 17, 18, 19, 20]);
  t.true(answer.events.every((e) => e.epoch === 7));
  t.deepEqual(answer.events.map((e) => (JSON.parse(e.event.text) as { type: string; seq: number }).seq), [16, 17, 18, 19, 20], 'each text carries its own seq');
  t.true(answer.events.every((e) => e.event.text.startsWith('{"type":"tick",')), 'missed ticks are tick events');
  t.deepEqual(describe(cache.resume(TOPIC, 7, 0)), Array.from({ length: 20 }, (_, i) => i + 1), 'from the start of a fully held history');
  t.is(describe(cache.resume(TOPIC, 7, 20)), 'nothing', 'up to date');
  t.is(describe(cache.resume(TOPIC, 7, 25)), 'nothing', 'ahead of the cache: nothing to send');
  t.is(describe(cache.resume(TOPIC, 8, 15)), 'snapshot@20', 'another epoch');
  const short = new EventCache(3);
  for (let seq = 1; seq <= 20; seq++) short.apply(update(seq));
  t.is(describe(short.resume(TOPIC, 7, 16)), 'not_retained', '17 is older than the history');
  t.deepEqual(describe(short.resume(TOPIC, 7, 17)), [18, 19, 20]);
  const snapshot = cache.resume(TOPIC, 8, 15);
  if (snapshot.kind === 'snapshot') t.true(snapshot.event.event.text.startsWith('{"type":"snapshot",'));
  t.is(describe(cache.resume('tick.V.none', 7, 1)), 'nothing', 'an unknown topic');
});

test('topicsWithPrefix is sorted; has, size and retain', (t) => {
  const cache = new EventCache(2);
  for (const topic of ['tick.V.C', 'tick.V.A', 'tick.W.A', 'tick.VV.A']) cache.apply(update(1, 7, topic));
  t.deepEqual(cache.topicsWithPrefix('tick.V.'), ['tick.V.A', 'tick.V.C']);
  t.deepEqual(cache.topicsWithPrefix(''), ['tick.V.A', 'tick.V.C', 'tick.VV.A', 'tick.W.A']);
  t.is(cache.size, 4);
  cache.retain((topic) => topic.startsWith('tick.V.'));
  t.deepEqual(cache.topicsWithPrefix(''), ['tick.V.A', 'tick.V.C']);
  t.false(cache.has('tick.W.A'));
  t.true(cache.has('tick.V.A'));
});

test('property: the history always answers exactly the missed contiguous seqs, not_retained, or (another epoch) a snapshot of the newest', (t) => {
  t.notThrows(() => fc.assert(fc.property(
    fc.integer({ min: 1, max: 8 }),
    fc.array(fc.record({ skip: fc.nat({ max: 2 }), restart: fc.boolean() }), { minLength: 1, maxLength: 60 }),
    fc.nat({ max: 70 }),
    (size, steps, since) => {
      const cache = new EventCache(size);
      let epoch = 1;
      let seq = 0;
      let ts = 0;
      /** The seqs of the current epoch in a row without a hole, ending at the newest. */
      let run: number[] = [];
      for (const step of steps) {
        if (step.restart && seq > 3) {
          epoch++;
          seq = 0;
          run = [];
        }
        const skipped = step.skip === 2;
        seq += skipped ? 2 : 1;
        if (skipped) run = [];
        run.push(seq);
        if (cache.apply(update(seq, epoch, TOPIC, ++ts)) === undefined) throw new Error('a new seq was refused');
      }
      const held = run.slice(-size);
      const answer = describe(cache.resume(TOPIC, epoch, since));
      const expected = since >= seq ? 'nothing' : since + 1 >= held[0]! ? held.filter((s) => s > since) : 'not_retained';
      if (JSON.stringify(answer) !== JSON.stringify(expected)) throw new Error(`resume from ${since}: ${JSON.stringify(answer)}, expected ${JSON.stringify(expected)}`);
      if (describe(cache.resume(TOPIC, epoch + 1, since)) !== `snapshot@${seq}`) throw new Error('another epoch must get a snapshot');
    },
  ), { numRuns: 500 }));
});

test('snapshot: one shared event per topic until the next tick (clients subscribing together share its text)', (t) => {
  const cache = new EventCache(10);
  cache.apply(update(1));
  const first = cache.snapshot(TOPIC)!.event;
  t.is(cache.snapshot(TOPIC)!.event, first);
  cache.apply(update(2));
  const second = cache.snapshot(TOPIC)!;
  t.not(second.event, first);
  t.is(second.seq, 2);
  t.regex(second.event.text, /^\{"type":"snapshot",.*"seq":2,/);
});

test('changedSince: a topic\'s newest tick event, only when it came after the clock value; one event shared until the next tick', (t) => {
  const cache = new EventCache(10);
  cache.apply(update(1));
  const before = cache.clock;
  t.is(cache.changedSince(TOPIC, before), undefined, 'nothing new since');
  cache.apply(update(2, 7, 'tick.V.B'));
  t.is(cache.changedSince(TOPIC, before), undefined, 'another topic changed, not this one');
  cache.apply(update(2));
  cache.apply(update(3));
  const changed = cache.changedSince(TOPIC, before)!;
  t.like(changed, { topic: TOPIC, epoch: 7, seq: 3 });
  t.is(changed.event.text, `{"type":"tick","topic":"tick.V.A","epoch":7,"seq":3,"ts":7000003,"data":{"venue":"V","symbol":"A","bid":3.5,"x":"\u00e9"}}`);
  cache.apply(update(4));
  t.is(cache.changedSince(TOPIC, before)!.seq, 4, 'rebuilt after the next tick');
  t.is(cache.changedSince(TOPIC, before)!.event, cache.changedSince(TOPIC, before)!.event, 'shared until then');
  t.is(cache.changedSince('tick.V.none', 0), undefined);
});

test('topicsWithPrefix: the held topics of a prefix in order, across new topics and retain', (t) => {
  const cache = new EventCache(10);
  for (const topic of ['tick.V.C', 'tick.W.A', 'tick.V.A', 'tick.V.B']) cache.apply(update(1, 7, topic));
  t.deepEqual(cache.topicsWithPrefix('tick.V.'), ['tick.V.A', 'tick.V.B', 'tick.V.C']);
  cache.retain((topic) => topic !== 'tick.V.B');
  t.deepEqual(cache.topicsWithPrefix('tick.'), ['tick.V.A', 'tick.V.C', 'tick.W.A']);
  cache.apply(update(1, 8, 'tick.V.B'));
  t.deepEqual(cache.topicsWithPrefix('tick.V.'), ['tick.V.A', 'tick.V.B', 'tick.V.C'], 'a dropped topic comes back once');
});
