import test from 'ava';
import fc from 'fast-check';
import { BookMerge, OrderBook, bookChecksum, parseTopic, validateBookRecord, type BookLevel, type BookRecord } from '../../src/wire/index.js';
import { BookModel, bookRunArb } from './_books.js';
import { holds } from './_helpers.js';

const topic = parseTopic('book.SIM.BTC-USD');

function record(action: 'snapshot' | 'update', bids: BookLevel[], asks: BookLevel[], book: { bids: BookLevel[]; asks: BookLevel[] }): BookRecord {
  return { venue: 'SIM', symbol: 'BTC-USD', action, bids, asks, checksum: bookChecksum(book.bids, book.asks) };
}

test('OrderBook applies the snapshot and update examples of PROTOCOL.md section 8', (t) => {
  const book = new OrderBook();
  t.true(book.apply(record('snapshot', [[64000.5, 1.2], [64000, 3]], [[64001, 0.5]], { bids: [[64000.5, 1.2], [64000, 3]], asks: [[64001, 0.5]] })));
  t.deepEqual(book.bids(), [[64000.5, 1.2], [64000, 3]]);
  t.is(book.checksum(), 3467268836);
  const after = { bids: [[64000, 3]] as BookLevel[], asks: [[64001, 0.7], [64002, 1]] as BookLevel[] };
  t.true(book.apply(record('update', [[64000.5, 0]], [[64001, 0.7], [64002, 1]], after)));
  t.deepEqual({ bids: book.bids(), asks: book.asks() }, after);
  t.deepEqual(book.depth, { bids: 1, asks: 2 });
});

test('OrderBook.apply keeps levels sorted best first, sets absolute sizes, ignores removal of an absent level', (t) => {
  const book = new OrderBook();
  book.apply(record('snapshot', [[10, 1]], [[11, 1]], { bids: [[10, 1]], asks: [[11, 1]] }));
  book.apply({ ...record('update', [[12, 2], [9, 3], [8, 0]], [[10.5, 4], [11, 5], [13, 0]], { bids: [], asks: [] }) });
  t.deepEqual(book.bids(), [[12, 2], [10, 1], [9, 3]]);
  t.deepEqual(book.asks(), [[10.5, 4], [11, 5]]);
  t.deepEqual(book.top(1), { bids: [[12, 2]], asks: [[10.5, 4]] });
});

test('OrderBook.apply answers false when the checksum does not match, having applied the record', (t) => {
  const book = new OrderBook();
  t.false(book.apply({ ...record('snapshot', [[10, 1]], [], { bids: [[10, 1]], asks: [] }), checksum: 1 }));
  t.deepEqual(book.bids(), [[10, 1]]);
});

test('a snapshot replaces the whole book', (t) => {
  const book = new OrderBook();
  book.apply(record('snapshot', [[10, 1], [9, 1]], [[11, 1]], { bids: [], asks: [] }));
  t.true(book.apply(record('snapshot', [[5, 2]], [], { bids: [[5, 2]], asks: [] })));
  t.deepEqual(book.top(10), { bids: [[5, 2]], asks: [] });
});

test('maxDepth drops the levels beyond it on every apply; a bound below the checksum depth is refused', (t) => {
  const book = new OrderBook({ maxDepth: 10 });
  const bids = Array.from({ length: 12 }, (_, i): BookLevel => [100 - i, 1]);
  t.true(book.apply(record('snapshot', bids, [], { bids, asks: [] })), 'the checksum covers only the 10 levels kept');
  t.deepEqual(book.bids(), bids.slice(0, 10));
  book.apply(record('update', [[100.5, 1]], [], { bids: [], asks: [] }));
  t.deepEqual(book.bids().at(-1), [92, 1], 'the worst level kept makes room');
  t.throws(() => new OrderBook({ maxDepth: 9 }), { instanceOf: RangeError, message: /below the 10 levels/ });
});

test('toSnapshot gives a valid snapshot record with the book and its checksum, exchTs when given', (t) => {
  const book = new OrderBook();
  book.apply(record('snapshot', [[10, 1], [9, 2]], [[11, 3]], { bids: [], asks: [] }));
  const snapshot = book.toSnapshot('SIM', 'BTC-USD', 1764070000123456);
  t.deepEqual(snapshot, { venue: 'SIM', symbol: 'BTC-USD', action: 'snapshot', bids: [[10, 1], [9, 2]], asks: [[11, 3]], checksum: book.checksum(), exchTs: 1764070000123456 });
  t.is(validateBookRecord(topic, snapshot), snapshot);
  t.false('exchTs' in book.toSnapshot('SIM', 'BTC-USD'));
});

test('property: applying a run of records one by one gives the model\'s book and checksum after every record', (t) => {
  holds(
    t,
    fc.property(bookRunArb, (records) => {
      const book = new OrderBook();
      const model = new BookModel();
      return records.every((r) => {
        validateBookRecord(topic, r);
        const matches = book.apply(r);
        model.apply(r);
        const expected = model.sorted();
        return matches && book.checksum() === model.checksum()
          && JSON.stringify(book.bids()) === JSON.stringify(expected.bids) && JSON.stringify(book.asks()) === JSON.stringify(expected.asks);
      });
    }),
  );
});

test('property: the BookMerge of any contiguous run, applied to the book before it, gives the book and checksum after it', (t) => {
  const caseArb = bookRunArb.chain((records) =>
    fc.tuple(fc.constant(records), fc.nat({ max: records.length }), fc.nat({ max: records.length })).map(([rs, a, b]) => ({ records: rs, from: Math.min(a, b), to: Math.max(a, b) })),
  );
  holds(
    t,
    fc.property(caseArb, ({ records, from, to }) => {
      const oneByOne = new OrderBook();
      const merged = new OrderBook();
      for (const r of records.slice(0, from)) {
        oneByOne.apply(r);
        merged.apply(r);
      }
      const merge = new BookMerge();
      for (const r of records.slice(from, to)) {
        merge.add(r);
        oneByOne.apply(r);
      }
      const result = merge.take();
      if (from === to) return result === undefined && merge.isEmpty;
      validateBookRecord(topic, result);
      const run = records.slice(from, to);
      return result!.action === (run.some((r) => r.action === 'snapshot') ? 'snapshot' : 'update')
        && result!.checksum === run.at(-1)!.checksum
        && merged.apply(result!)
        && merged.checksum() === oneByOne.checksum()
        && JSON.stringify(merged.top(Infinity)) === JSON.stringify(oneByOne.top(Infinity))
        && merge.isEmpty;
    }),
  );
});

test('property: toSnapshot applied to an empty book gives the same book', (t) => {
  holds(
    t,
    fc.property(bookRunArb, (records) => {
      const book = new OrderBook();
      for (const r of records) book.apply(r);
      const copy = new OrderBook();
      return copy.apply(book.toSnapshot('SIM', 'BTC-USD')) && JSON.stringify(copy.top(Infinity)) === JSON.stringify(book.top(Infinity));
    }),
  );
});

test('BookMerge: updates merge level by level, the newest size winning and a removal kept as 0', (t) => {
  const merge = new BookMerge();
  merge.add({ ...record('update', [[10, 1], [9, 2]], [[11, 1]], { bids: [], asks: [] }), exchTs: 1 });
  merge.add({ ...record('update', [[10, 0], [8, 4]], [[11, 3]], { bids: [], asks: [] }), checksum: 42, exchTs: 2, extra: 'x' });
  t.deepEqual(merge.take(), { venue: 'SIM', symbol: 'BTC-USD', action: 'update', bids: [[10, 0], [9, 2], [8, 4]], asks: [[11, 3]], checksum: 42, exchTs: 2 });
  t.is(merge.take(), undefined, 'take starts over');
});

test('BookMerge: a snapshot in the run makes the result a snapshot of the book after the run', (t) => {
  const merge = new BookMerge();
  merge.add(record('update', [[10, 1]], [], { bids: [], asks: [] }));
  merge.add(record('snapshot', [[7, 1], [6, 1]], [[12, 1]], { bids: [], asks: [] }));
  merge.add({ ...record('update', [[7, 0], [6.5, 2]], [[13, 1]], { bids: [], asks: [] }), checksum: 9 });
  t.deepEqual(merge.take(), { venue: 'SIM', symbol: 'BTC-USD', action: 'snapshot', bids: [[6.5, 2], [6, 1]], asks: [[12, 1], [13, 1]], checksum: 9 });
});
