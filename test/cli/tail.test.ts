import test from 'ava';
import { BookShelf, type BookView } from '../../src/client/books.js';
import type { Update } from '../../src/client/zmq/index.js';
import { BOOK_LINE_DEPTH, stateLines, type StateSource } from '../../src/cli/tail.js';
import { encodeBookRecord, encodeTickRecord, nowMicros, type AnyRecord, type BookRecord } from '../../src/wire/index.js';
import { BookModel } from '../wire/_books.js';

/** What `tickfan tail` prints of a followed state (stateLines), from a scripted subscriber whose books are real (BookShelf). */

const BOOK = 'book.SIM.BTC-USD';

/** A subscriber stand-in: the updates given, applied to its books as TickSubscriber does, then the end. */
class ScriptedState implements StateSource {
  readonly ready = Promise.resolve();
  private readonly books = new BookShelf();

  constructor(private readonly updates: readonly Update[]) {}

  book(topic: string): BookView | undefined {
    return this.books.book(topic);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Update> {
    for (const update of this.updates) {
      if (update.topic.startsWith('book.')) this.books.apply(update.topic, update, update.record as BookRecord);
      yield update;
    }
  }
}

function update(topic: string, seq: number, record: AnyRecord, source: Update['source'] = 'live'): Update {
  const payload = topic.startsWith('book.') ? encodeBookRecord(record as BookRecord) : encodeTickRecord(record as never);
  return { topic, epoch: 3, seq, ts: nowMicros(), source, payload, record: record as Update['record'] };
}

function bookRecord(model: BookModel, action: 'snapshot' | 'update', bids: [number, number][], asks: [number, number][], checksum?: number): BookRecord {
  const record: BookRecord = { venue: 'SIM', symbol: 'BTC-USD', action, bids, asks, checksum: 0 };
  model.apply(record);
  return { ...record, checksum: checksum ?? model.checksum() };
}

async function printed(updates: Update[], options = { json: false, snapshot: true }): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of stateLines(new ScriptedState(updates), options)) lines.push(line);
  return lines;
}

/** A scripted book: a snapshot 7 levels deep, an update of the top, one below the levels shown, and one that breaks it. */
function scriptedBook(): Update[] {
  const model = new BookModel();
  const bids = Array.from({ length: 7 }, (_, i): [number, number] => [100 - i, i + 1]);
  return [
    update(BOOK, 1, bookRecord(model, 'snapshot', bids, [[101, 0.5], [102, 2]]), 'snapshot'),
    update(BOOK, 2, bookRecord(model, 'update', [[100, 0]], [[101.5, 1]])),
    update(BOOK, 3, bookRecord(model, 'update', [[93, 9]], [])),
    update(BOOK, 4, bookRecord(model, 'update', [[99, 4]], [], 1)),
    update('tick.SIM.BTC-USD', 9, { venue: 'SIM', symbol: 'BTC-USD', bid: 99, ask: 101 }),
  ];
}

test('a book topic prints the top of its book each time it changes: the best levels of each side, size@price, best first', async (t) => {
  const lines = await printed(scriptedBook());
  t.is(BOOK_LINE_DEPTH, 5);
  t.is(lines.length, 4, 'the change below the levels shown (seq 3) prints nothing');
  t.regex(lines[0]!, /^book\.SIM\.BTC-USD epoch=3 seq=1 latency=[\d.]+ms \[snapshot\] bids 1@100 2@99 3@98 4@97 5@96 \| asks 0\.5@101 2@102\n$/);
  t.regex(lines[1]!, /^book\.SIM\.BTC-USD epoch=3 seq=2 latency=[\d.]+ms bids 2@99 3@98 4@97 5@96 6@95 \| asks 0\.5@101 1@101\.5 2@102\n$/);
  t.regex(lines[2]!, /^book\.SIM\.BTC-USD epoch=3 seq=4 latency=[\d.]+ms no book: waiting for a fresh snapshot\n$/, 'a record that broke the book: it is dropped');
  t.regex(lines[3]!, /^tick\.SIM\.BTC-USD epoch=3 seq=9 latency=[\d.]+ms \{"venue":"SIM","symbol":"BTC-USD","bid":99,"ask":101\}\n$/, 'other topics print their records');
});

test('--json: one object per change, {topic, epoch, seq, ts, latencyUs, source, bids, asks, checksum}; a dropped book says so', async (t) => {
  const lines = (await printed(scriptedBook(), { json: true, snapshot: true })).map((line) => JSON.parse(line) as Record<string, unknown>);
  const model = new BookModel();
  for (const { record } of scriptedBook().slice(0, 2)) model.apply(record as BookRecord);
  const { bids, asks } = model.sorted();
  t.like(lines[1], { topic: BOOK, epoch: 3, seq: 2, source: 'live', bids: bids.slice(0, 5), asks, checksum: model.checksum() });
  t.true(typeof lines[1]!.latencyUs === 'number' && typeof lines[1]!.ts === 'number');
  t.like(lines[2], { topic: BOOK, seq: 4, dropped: true });
  t.false('bids' in lines[2]!);
  t.like(lines[3], { topic: 'tick.SIM.BTC-USD', record: { bid: 99 } });
});
