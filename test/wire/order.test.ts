import test from 'ava';
import fc from 'fast-check';
import { MAX_CLOCK_AHEAD_US, advances, isNewer, sequence, type Stamp } from '../../src/wire/index.js';

const NOW = 1_764_070_000_000_000;

test('the five relations within and across epochs', (t) => {
  const held: Stamp = { epoch: 7, seq: 10, ts: NOW - 1_000 };
  t.is(sequence(undefined, held, NOW), 'first');
  t.is(sequence(held, { epoch: 7, seq: 9, ts: NOW }, NOW), 'duplicate');
  t.is(sequence(held, { epoch: 7, seq: 10, ts: NOW }, NOW), 'duplicate');
  t.is(sequence(held, { epoch: 7, seq: 11, ts: NOW }, NOW), 'next');
  t.is(sequence(held, { epoch: 7, seq: 13, ts: NOW }, NOW), 'gap');
  t.is(sequence(held, { epoch: 8, seq: 1, ts: NOW }, NOW), 'new_epoch');
  t.is(sequence(held, { epoch: 8, seq: 500, ts: NOW - 2_000 }, NOW), 'older');
  t.is(sequence(held, { epoch: 8, seq: 1, ts: held.ts }, NOW), 'older', 'an equal time does not outrank the held run');
});

test('a held state claiming a time beyond the allowed clock lead outranks no other run', (t) => {
  const hostile: Stamp = { epoch: 424242, seq: 1, ts: 2 ** 53 - 1 };
  t.is(sequence(hostile, { epoch: 7, seq: 11, ts: NOW }, NOW), 'new_epoch');
  const justAhead: Stamp = { epoch: 424242, seq: 1, ts: NOW + MAX_CLOCK_AHEAD_US };
  t.is(sequence(justAhead, { epoch: 7, seq: 11, ts: NOW }, NOW), 'older', 'within the lead it still ranks by time');
  t.is(sequence(justAhead, { epoch: 7, seq: 99, ts: justAhead.ts + 1 }, NOW + MAX_CLOCK_AHEAD_US), 'new_epoch', 'and is replaced once a real run publishes later');
});

test('advances and isNewer: only what is newer than the held state changes it', (t) => {
  t.deepEqual((['first', 'next', 'gap', 'new_epoch', 'duplicate', 'older'] as const).map(advances), [true, true, true, true, false, false]);
  t.true(isNewer({ epoch: 1, seq: 1, ts: 1 }, { epoch: 1, seq: 2, ts: 1 }, NOW));
  t.false(isNewer({ epoch: 1, seq: 2, ts: 1 }, { epoch: 1, seq: 2, ts: 1 }, NOW));
});

/**
 * The model: a topic's source runs several times (epochs), each run publishing seqs 1..n at
 * rising times, every run later than the one before. Copies reach a receiver in any order
 * that keeps each line's own order (several lines, each delivering a subsequence), with
 * repeats. The model's total order of messages is (run, seq).
 */
const runsArb = fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 4 }).chain((lengths) => {
  const epochs = fc.uniqueArray(fc.integer({ min: 1, max: 2 ** 32 - 1 }), { minLength: lengths.length, maxLength: lengths.length });
  return epochs.map((ids) => lengths.flatMap((n, run) => Array.from({ length: n }, (_, i) => ({
    run, epoch: ids[run]!, seq: i + 1, ts: NOW - 10_000_000 + run * 1_000_000 + (i + 1) * 10,
  }))));
});
type Message = Stamp & { readonly run: number };
const rank = (m: Message): number => m.run * 1_000 + m.seq;

/** Several lines, each carrying a subsequence of the published order, merged in some interleaving. */
const deliveryArb = runsArb.chain((published) => fc.tuple(
  fc.constant(published),
  fc.array(fc.array(fc.boolean(), { minLength: published.length, maxLength: published.length }), { minLength: 1, maxLength: 3 }),
).chain(([all, keeps]) => {
  const lines = keeps.map((keep) => all.filter((_, i) => keep[i]));
  return fc.array(fc.nat({ max: lines.length - 1 }), { minLength: lines.reduce((n, l) => n + l.length, 0), maxLength: lines.reduce((n, l) => n + l.length, 0) })
    .map((picks) => {
      const cursors = lines.map(() => 0);
      const out: Message[] = [];
      for (const pick of picks) {
        let line = pick;
        while (cursors[line]! >= lines[line]!.length) line = (line + 1) % lines.length;
        out.push(lines[line]![cursors[line]!++]!);
      }
      return out;
    });
}));

test('property: whatever the interleaving and repeats, applied states only move forward in the model order and end at the newest delivered', (t) => {
  fc.assert(fc.property(deliveryArb, (delivered) => {
    let held: Message | undefined;
    for (const message of delivered) {
      const relation = sequence(held, message, NOW);
      if (!advances(relation)) {
        if (held !== undefined && rank(message) > rank(held)) return false;
        continue;
      }
      if (held !== undefined && rank(message) <= rank(held)) return false;
      // The relation names what happened in the model.
      if (relation === 'next' && !(held!.run === message.run && message.seq === held!.seq + 1)) return false;
      if (relation === 'gap' && !(held!.run === message.run && message.seq > held!.seq + 1)) return false;
      if (relation === 'new_epoch' && held!.run === message.run) return false;
      held = message;
    }
    const newest = delivered.reduce<Message | undefined>((best, m) => (best === undefined || rank(m) > rank(best) ? m : best), undefined);
    return held === newest;
  }), { numRuns: 500 });
  t.pass();
});

test('property: one message from the far future holds a topic only until the next message of a real run', (t) => {
  fc.assert(fc.property(runsArb, fc.nat(), fc.integer({ min: NOW + MAX_CLOCK_AHEAD_US + 1, max: 2 ** 53 - 1 }), (published, at, ts) => {
    const cut = at % published.length;
    const hostile: Stamp = { epoch: 0x67932, seq: 1, ts };
    let held: Stamp | undefined;
    const stream = [...published.slice(0, cut), hostile, ...published.slice(cut)];
    let afterHostile = 0;
    for (const message of stream) {
      if (advances(sequence(held, message, NOW))) held = message;
      if (held === hostile) afterHostile++;
    }
    // Held for the one step it arrived in (when it outranked the real state), never longer.
    return afterHostile <= 1 || (cut === published.length && afterHostile === 1);
  }), { numRuns: 300 });
  t.pass();
});
