import test from 'ava';
import { tickSink } from '../helpers/sinks.js';
import { parseRecordedLine, recordedLine, ReplayFeed } from '../../src/feeds/replay/index.js';
import { MarketSimulator } from '../../src/feeds/simulated/index.js';
import { encodeTickRecord, OrderBook, type BookRecord, type InstrumentClass, type TickRecord, type TradeRecord } from '../../src/wire/index.js';
import { fileWith, recording, T0, tick } from './_recordings.js';
import { AdapterProbe } from './_helpers.js';

test('a malformed line is reported with its line number and skipped; the others go out in order', async (t) => {
  const lines = recording(3, 1).split('\n');
  const text = [lines[0], 'not json', lines[1], '{"topic":"tick.RP.X","epoch":7,"seq":9,"ts":1,"record":{"venue":"RP","symbol":"Y","bid":1}}', lines[2], '{"topic":"tick.RP.X","ts":"soon"}', ''].join('\n');
  const { file, cleanup } = fileWith('mixed.ndjson', text);
  const probe = new AdapterProbe(new ReplayFeed({ file, speed: 0, loop: false }));
  await probe.start();
  await probe.until(() => probe.count('disconnected') === 1, 'the end of the file');
  t.deepEqual(probe.records, [tick(0), tick(1), tick(2)]);
  const details = probe.events.flatMap((e) => (e.kind === 'rejected' ? [`${e.reason}: ${e.detail}`] : []));
  t.is(details.length, 3);
  t.regex(details[0]!, /^malformed_line: .*mixed\.ndjson line 2: not JSON/);
  t.regex(details[1]!, /line 4: .*symbol "Y" does not match/);
  t.regex(details[2]!, /line 6: ts is "soon"/);
  await probe.stop();
  cleanup();
});

test('CSV rows become records with exact decimals; empty cells are absent; ts becomes exchTs', async (t) => {
  const text = [
    'ts,venue,symbol,bid,bidSize,ask,askSize,last,lastSize,volume',
    '1764070000000001,CSV,BTC-USD,0.1,1,0.3,2,0.2,0.5,0.30000',
    '2026-11-25T17:03:38.061769Z,CSV,ETH-USD,3100.25,,3100.5,,,,',
    '1764070000000003,CSV,BAD,abc,1,2,3,,,',
    '1764070000000004,CSV,SHORT,1',
  ].join('\n');
  const { file, cleanup } = fileWith('day.csv', text);
  const probe = new AdapterProbe(new ReplayFeed({ file, speed: 0, loop: false }));
  await probe.start();
  await probe.until(() => probe.count('disconnected') === 1, 'the end of the file');
  t.deepEqual(probe.records.map((r) => encodeTickRecord(r).toString()), [
    '{"venue":"CSV","symbol":"BTC-USD","bid":0.1,"bidSize":1,"ask":0.3,"askSize":2,"last":0.2,"lastSize":0.5,"volume":0.3,"exchTs":1764070000000001}',
    `{"venue":"CSV","symbol":"ETH-USD","bid":3100.25,"ask":3100.5,"exchTs":${Date.UTC(2026, 10, 25, 17, 3, 38) * 1000 + 61769}}`,
  ]);
  const details = probe.events.flatMap((e) => (e.kind === 'rejected' ? [e.detail] : []));
  t.regex(details[0]!, /line 4: bid: "abc" is not a decimal/);
  t.regex(details[1]!, /line 5: 4 columns, expected 10/);
  await probe.stop();
  cleanup();
});

test.serial('at speed 2 a 10 s recording replays in 5 s, within 10%', async (t) => {
  const { file, cleanup } = fileWith('paced.ndjson', recording(101, 100));
  const probe = new AdapterProbe(new ReplayFeed({ file, speed: 2, loop: false }));
  const at: number[] = [];
  const feed = probe.adapter;
  await feed.start(tickSink((record) => {
    at.push(performance.now());
    probe.records.push(record);
    probe.conditions.check();
  }), probe.monitor);
  await probe.until(() => probe.records.length === 101, '101 records', 15_000);
  const elapsed = at.at(-1)! - at[0]!;
  t.log(`10 s of recording at speed 2 took ${elapsed.toFixed(0)} ms`);
  t.true(Math.abs(elapsed - 5000) <= 500, `${elapsed.toFixed(0)} ms`);
  // Paced throughout, not in bursts: the first half of the records takes about half the time.
  t.true(Math.abs(at[50]! - at[0]! - 2500) <= 250, `half way after ${(at[50]! - at[0]!).toFixed(0)} ms`);
  await feed.stop();
  cleanup();
});

test('at speed 0 the recording goes out as fast as possible, and looping starts it over in order', async (t) => {
  const { file, cleanup } = fileWith('loop.ndjson', recording(1000, 100));
  const probe = new AdapterProbe(new ReplayFeed({ file, speed: 0, loop: true }));
  const started = performance.now();
  await probe.start();
  await probe.recordCount(3000);
  const elapsed = performance.now() - started;
  await probe.stop();
  t.true(elapsed < 100_000 / 10, `three passes over 100 s of recording took ${elapsed.toFixed(0)} ms`);
  const expected = Array.from({ length: 1000 }, (_, i) => tick(i));
  t.deepEqual(probe.records.slice(0, 3000), [...expected, ...expected, ...expected]);
  t.is(probe.count('disconnected'), 0, 'a looping replay never ends');
  const atStop = probe.records.length;
  await new Promise((resolve) => setImmediate(resolve));
  t.is(probe.records.length, atStop, 'nothing after stop()');
  cleanup();
});

test('a missing file fails the start with an error naming it', async (t) => {
  const feed = new ReplayFeed({ file: '/nonexistent/day.ndjson', speed: 1, loop: false });
  await t.throwsAsync(feed.start(tickSink()), { message: /replay file \/nonexistent\/day\.ndjson cannot be read/ });
  t.throws(() => new ReplayFeed({ file: 'x', speed: -1, loop: false }), { message: /speed -1 must be a number >= 0/ });
});

test('books and trades round-trip through a recording with the ticks, in order; a book opens at its first snapshot in the file on every pass', async (t) => {
  const market = new MarketSimulator([{ venue: 'RP', symbol: 'X', tickSize: 0.01, startPrice: 100, lotSize: 1 }], 4, { bookDepth: 20, trades: true });
  type Replayed = { kind: InstrumentClass; record: TickRecord | BookRecord | TradeRecord };
  const expected: Replayed[] = [];
  const lines: string[] = [];
  const seqs = new Map<string, number>();
  const line = (kind: InstrumentClass, record: Replayed['record'], ts: number, replayed: boolean): void => {
    const topic = `${kind}.RP.X`;
    seqs.set(topic, (seqs.get(topic) ?? 0) + 1);
    lines.push(recordedLine({ topic, epoch: 7, seq: seqs.get(topic)!, ts, record }));
    if (replayed) expected.push({ kind, record });
  };
  market.step(T0);
  // The recording starts while the book is live: two updates, then the source's next snapshot.
  for (let n = 1; n < 300; n++) {
    if (n === 3) market.resyncBooks();
    const { tick: l1, book, trade } = market.step(T0 + n);
    line('book', book!, T0 + n, n >= 3);
    if (trade) line('trade', trade, T0 + n, true);
    line('tick', l1, T0 + n, true);
  }
  const { file, cleanup } = fileWith('books.ndjson', lines.join(''));
  t.teardown(cleanup);
  const probe = new AdapterProbe(new ReplayFeed({ file, speed: 0, loop: true }));
  const replayed: Replayed[] = [];
  const keep = (kind: InstrumentClass) => (record: Replayed['record']) => void replayed.push({ kind, record });
  await probe.adapter.start({ tick: keep('tick'), trade: keep('trade'), book: (record) => (keep('book')(record), true) }, probe.monitor);
  await probe.until(() => replayed.length >= expected.length * 2, 'two passes');
  await probe.stop();
  t.deepEqual(replayed.slice(0, expected.length), expected);
  t.deepEqual(replayed.slice(expected.length, expected.length * 2), expected, 'the second pass skips the same updates');
  t.true(probe.rejectReasons().filter((r) => r === 'book_before_snapshot').length >= 4, 'two skipped updates per pass');
  const book = new OrderBook();
  t.true(replayed.filter((r) => r.kind === 'book').every((r) => book.apply(r.record as BookRecord)), 'every replayed book record matches its checksum');
});

test('a recorded status line is refused by name: a replay publishes its own venue status', (t) => {
  t.throws(() => parseRecordedLine('{"topic":"status.RP","epoch":7,"seq":1,"ts":1,"record":{"venue":"RP","state":"up"}}'), { message: /status topic/ });
});
