import test from 'ava';
import fc from 'fast-check';
import { RecordRing, type HeldRecord } from '../../src/util/record-ring.js';

/** What the history holds, as texts: the records are UTF-8 JSON bytes. */
const texts = (records: readonly HeldRecord[]) => records.map(({ record, ts }) => ({ text: record.toString('utf8'), ts }));

test('the newest records up to its capacity, oldest first, with their ts; each a copy that outlives later appends', (t) => {
  const history = new RecordRing(3);
  for (let i = 1; i <= 5; i++) history.append(Buffer.from(`{"seq":${i}}`), 1000 + i);
  t.is(history.size, 3);
  t.deepEqual(texts(history.from(0)), [{ text: '{"seq":3}', ts: 1003 }, { text: '{"seq":4}', ts: 1004 }, { text: '{"seq":5}', ts: 1005 }]);
  t.deepEqual(texts(history.from(2)).map((e) => e.text), ['{"seq":5}']);
  t.deepEqual(history.from(3), []);
  const newest = history.newest()!;
  for (let i = 6; i <= 200; i++) history.append(Buffer.from(`{"seq":${i}}`), 1000 + i);
  t.deepEqual(texts([newest]), [{ text: '{"seq":5}', ts: 1005 }]);
  history.clear();
  t.is(history.size, 0);
  t.is(history.newest(), undefined);
  history.append(Buffer.from('{"é":"✓"}'), 7);
  t.deepEqual(texts(history.from(0)), [{ text: '{"é":"✓"}', ts: 7 }], 'UTF-8 bytes come back as they went in');
});

test('property: always the last min(capacity, appended) records not dropped, through any mix of sizes, clears, drops and wrap-arounds', (t) => {
  const step = fc.oneof(
    { weight: 20, arbitrary: fc.string({ unit: fc.constantFrom('a', 'é', '✓', '"', '𝄞'), maxLength: 600, size: 'max' }).map((text) => ({ text })) },
    { weight: 1, arbitrary: fc.constant('clear' as const) },
    { weight: 3, arbitrary: fc.constant('drop' as const) },
  );
  t.notThrows(() => fc.assert(
    fc.property(fc.integer({ min: 1, max: 20 }), fc.array(step, { maxLength: 100 }), (capacity, steps) => {
      const history = new RecordRing(capacity);
      let model: { text: string; ts: number }[] = [];
      steps.forEach((s, ts) => {
        if (s === 'clear') {
          history.clear();
          model = [];
        } else if (s === 'drop') {
          const dropped = history.dropOldest();
          if (dropped !== (model.length === 0 ? 0 : Buffer.byteLength(model[0]!.text))) throw new Error('dropOldest() returned another length than the oldest record\'s');
          model = model.slice(1);
        } else {
          // Split in two at a byte boundary: head and record are held as one.
          const bytes = Buffer.from(s.text);
          const cut = Math.floor(bytes.length / 3);
          const dropped = history.append(bytes.subarray(cut), ts, bytes.subarray(0, cut));
          const expected = model.length === capacity ? Buffer.byteLength(model[0]!.text) : 0;
          if (dropped !== expected) throw new Error(`append() returned ${dropped}, the record it dropped had ${expected} bytes`);
          model = [...model, { text: s.text, ts }].slice(-capacity);
        }
        const held = model.reduce((sum, e) => sum + Buffer.byteLength(e.text), 0);
        if (history.bytesHeld !== held || history.size !== model.length) throw new Error(`holds ${history.size} records of ${history.bytesHeld} bytes, expected ${model.length} of ${held}`);
      });
      // Compared as JSON and thrown short: an assertion's diff of kilobytes of text makes shrinking crawl.
      const half = Math.floor(model.length / 2);
      if (JSON.stringify(texts(history.from(0))) !== JSON.stringify(model)) throw new Error(`from(0) differs from the last ${model.length} appended`);
      if (JSON.stringify(texts(history.from(half))) !== JSON.stringify(model.slice(half))) throw new Error(`from(${half}) differs`);
      if (JSON.stringify(texts(history.size === 0 ? [] : [history.newest()!])) !== JSON.stringify(model.slice(-1))) throw new Error('newest() differs');
    }),
    // No shrinking: cases of kilobytes of text shrink for minutes; the first failure says enough.
    { numRuns: 200, endOnFailure: true },
  ));
});
