import test from 'ava';
import { binanceFeed, type BinanceOptions } from '../../src/feeds/binance/index.js';
import { encodeTickRecord } from '../../src/wire/index.js';
import { FollowedBook, onTime, showsTruth, subscriberBook, wrongBook, type TruthView } from './_books.js';
import { FAST_BACKOFF, onMockExchange } from './_helpers.js';
import { MockBinance } from './mocks/binance.js';

const DAY_MS = 24 * 3_600_000;

type Settings = Partial<Pick<BinanceOptions, 'plannedReconnectMs' | 'depthLimit' | 'snapshotTimeoutMs' | 'maxBufferedEvents' | 'bookSnapshotIntervalMs'>>;

/** A Binance adapter connected to its own mock exchange and REST endpoint. */
async function setUp(settings: Settings = {}, maxConnectionAgeMs = 0) {
  const exchange = new MockBinance(maxConnectionAgeMs);
  await exchange.restListening;
  return onMockExchange(
    exchange,
    (url) => binanceFeed({
      url, restUrl: exchange.restUrl, venue: 'BN', symbols: ['btcusdt', 'ETHUSDT'], backoff: FAST_BACKOFF, maxMessageBytes: 1024 * 1024,
      plannedReconnectMs: DAY_MS, depthLimit: 1000, snapshotTimeoutMs: 5000, maxBufferedEvents: 1000, ...settings,
    }),
    () => exchange.connected(1),
  );
}

type Setup = Awaited<ReturnType<typeof setUp>>;

/** Resolves once BTCUSDT's published book shows its true book as it is now. */
function caughtUp({ exchange, probe }: Setup, view: TruthView = 'whole'): Promise<void> {
  const truth = exchange.truth('BTCUSDT');
  const followed = new FollowedBook(() => btcBooks(probe));
  return probe.until(() => showsTruth(followed.book(), truth, view), `the book of BTCUSDT at the true book's state ${truth.checksums.length - 1}`);
}

function btcBooks(probe: Setup['probe']) {
  return probe.books.filter((r) => r.symbol === 'BTCUSDT');
}

/** The published book of BTCUSDT is right: every checksum matches, none shows a state the truth was never in, and it ends as the truth. */
function assertTrueBook(t: import('ava').ExecutionContext, { exchange, probe }: Setup, view: TruthView = 'whole'): void {
  const truth = exchange.truth('BTCUSDT');
  const records = btcBooks(probe);
  const { book, mismatches } = subscriberBook(records);
  t.deepEqual(mismatches, [], 'each record matches its checksum on a subscriber\'s book');
  t.is(wrongBook(records, truth), undefined);
  t.true(showsTruth(book, truth, view), 'the published book is the true book');
}

test('subscribes through the combined-stream URL, bookTicker, trade and diff depth per symbol', async (t) => {
  const { exchange, tearDown } = await setUp();
  t.is(new URL(exchange.connections[0]!.url, 'ws://x').pathname, '/stream');
  t.deepEqual(exchange.streams(), [
    'btcusdt@bookTicker', 'btcusdt@trade', 'btcusdt@depth@100ms', 'ethusdt@bookTicker', 'ethusdt@trade', 'ethusdt@depth@100ms',
  ]);
  await tearDown();
});

test('quotes and trades merge into full ticks; summed trade sizes stay exact (0.1 + 0.2 = 0.3); trades go out with the taker\'s side', async (t) => {
  const { exchange, probe, tearDown } = await setUp();
  exchange.bookTicker('BTCUSDT', { b: '64000.10000000', B: '0.10000000', a: '64000.20000000', A: '0.20000000' });
  exchange.trade('BTCUSDT', 100, '64000.20000000', '0.10000000', 1_764_070_000_123, false);
  exchange.trade('BTCUSDT', 101, '64000.10000000', '0.20000000', 1_764_070_000_456, true);
  await probe.recordCount(3);
  t.deepEqual(probe.records.map((r) => encodeTickRecord(r).toString()), [
    '{"venue":"BN","symbol":"BTCUSDT","bid":64000.1,"bidSize":0.1,"ask":64000.2,"askSize":0.2}',
    '{"venue":"BN","symbol":"BTCUSDT","bid":64000.1,"bidSize":0.1,"ask":64000.2,"askSize":0.2,"last":64000.2,"lastSize":0.1,"volume":0.1,"exchTs":1764070000123000}',
    '{"venue":"BN","symbol":"BTCUSDT","bid":64000.1,"bidSize":0.1,"ask":64000.2,"askSize":0.2,"last":64000.1,"lastSize":0.2,"volume":0.3,"exchTs":1764070000456000}',
  ]);
  // m (the buyer is the maker) false: the buyer took; true: the seller did.
  t.deepEqual(probe.trades, [
    { venue: 'BN', symbol: 'BTCUSDT', price: 64000.2, size: 0.1, side: 'buy', tradeId: '100', exchTs: 1_764_070_000_123_000 },
    { venue: 'BN', symbol: 'BTCUSDT', price: 64000.1, size: 0.2, side: 'sell', tradeId: '101', exchTs: 1_764_070_000_456_000 },
  ]);
  await tearDown();
});

test('a jump in trade ids counts an upstream gap; a repeated trade or book update is dropped', async (t) => {
  const { exchange, probe, tearDown } = await setUp();
  exchange.trade('ETHUSDT', 7, '3100', '1');
  exchange.trade('ETHUSDT', 8, '3100', '1');
  exchange.trade('ETHUSDT', 12, '3100', '1');
  exchange.bookTicker('ETHUSDT');
  exchange.repeatedBookTicker('ETHUSDT');
  exchange.trade('ETHUSDT', 12, '3100', '1');
  exchange.bookTicker('ETHUSDT');
  await probe.recordCount(5);
  t.is(probe.trades.length, 3);
  t.is(probe.count('gap'), 1);
  t.deepEqual(probe.rejectReasons(), ['out_of_order', 'out_of_order']);
  await tearDown();
});

test('server pings are answered', async (t) => {
  const { exchange, tearDown } = await setUp();
  exchange.ping();
  await exchange.until(() => exchange.connections[0]!.pongs === 1, 'a pong');
  t.pass();
  await tearDown();
});

test('a dropped connection reconnects with the same streams', async (t) => {
  const { exchange, probe, tearDown } = await setUp();
  exchange.drop();
  await exchange.connected(2);
  t.deepEqual(exchange.streams(1), exchange.streams(0));
  await probe.until(() => probe.count('connected') === 2, 'connected again');
  t.is(probe.count('disconnected'), 1);
  exchange.bookTicker('BTCUSDT');
  await probe.recordCount(1);
  await tearDown();
});

// Serial, so that the CPU of this file's other tests cannot delay the replacement past the cut.
test.serial('a planned reconnect replaces the connection before the exchange cuts it: never reported down', async (t) => {
  // The mock cuts connections at 600 ms, as Binance does at 24 h; the adapter replaces them at 300 ms.
  const { exchange, probe, tearDown } = await setUp({ plannedReconnectMs: 300 }, 600);
  await exchange.until(() => exchange.connections.length >= 2 && exchange.connections[0]!.closed, 'the old connection replaced');
  exchange.bookTicker('BTCUSDT');
  await probe.recordCount(1);
  await exchange.until(() => exchange.connections.length >= 3, 'a second planned reconnect');
  t.is(probe.count('disconnected'), 0);
  t.is(probe.count('reconnecting'), 0, 'planned reconnects are not counted as losses');
  t.deepEqual(exchange.streams(2), exchange.streams(0));
  await tearDown();
});

test('garbage, unknown streams, exchange errors and bad fields are counted, not fatal', async (t) => {
  const { exchange, probe, tearDown } = await setUp();
  exchange.send('\u0000\u0001garbage');
  exchange.send({ stream: 'btcusdt@depth', data: {} });
  exchange.send({ code: 2, msg: 'Invalid request: unknown stream' });
  exchange.send({ stream: 'dogeusdt@bookTicker', data: { u: 1, s: 'DOGEUSDT', b: '1', B: '1', a: '1', A: '1' } });
  exchange.bookTicker('BTCUSDT', { b: 'NaN' });
  exchange.bookTicker('BTCUSDT');
  await probe.recordCount(1);
  t.deepEqual(probe.rejectReasons(), ['json', 'unknown_type', 'upstream_error', 'unknown_symbol', 'field']);
  t.is(probe.count('crash'), 0);
  await tearDown();
});

test('after the sync the published book is the true book: a snapshot from REST, then one update per diff event, each with the true checksum', async (t) => {
  const setup = await setUp();
  const { exchange, probe, tearDown } = setup;
  exchange.depthUpdate('BTCUSDT');
  await caughtUp(setup);
  for (let i = 0; i < 50; i++) exchange.depthUpdate('BTCUSDT');
  await caughtUp(setup);
  t.is(probe.books[0]!.action, 'snapshot');
  t.true(probe.books.slice(1).every((r) => r.action === 'update'));
  t.true(probe.books.length <= 51, 'at most one record per diff event (none for a change that left the book as it was)');
  t.is(exchange.depthRequests.length, 1);
  t.is(exchange.depthRequests[0]!.pathname, '/api/v3/depth');
  t.deepEqual(Object.fromEntries(exchange.depthRequests[0]!.searchParams), { symbol: 'BTCUSDT', limit: '1000' });
  t.is(probe.books.at(-1)!.exchTs, 1_764_070_000_500_000);
  assertTrueBook(t, setup);
  await tearDown();
});

test('a late REST snapshot: the events buffered before it are dropped, those after it applied, and the first record is the whole book', async (t) => {
  const setup = await setUp();
  const { exchange, probe, tearDown } = setup;
  exchange.depthReplies.push('held');
  exchange.depthUpdate('BTCUSDT');
  await exchange.until(() => exchange.depthRequests.length === 1, 'the depth request');
  for (let i = 0; i < 10; i++) exchange.depthUpdate('BTCUSDT');
  const answer = exchange.captureDepth();
  for (let i = 0; i < 10; i++) exchange.depthUpdate('BTCUSDT');
  // A tick follows the diff events on the same connection: once it is out, they are buffered.
  exchange.bookTicker('BTCUSDT');
  await probe.recordCount(1);
  t.is(probe.books.length, 0, 'nothing published while the snapshot is awaited');
  answer();
  await caughtUp(setup);
  t.is(probe.books.length, 1);
  t.is(probe.books[0]!.action, 'snapshot');
  assertTrueBook(t, setup);
  await tearDown();
});

test('a sequence break resyncs: a gap counted, nothing published until a fresh REST snapshot goes out as a snapshot record, never a wrong book', async (t) => {
  const setup = await setUp();
  const { exchange, probe, tearDown } = setup;
  exchange.depthUpdate('BTCUSDT');
  for (let i = 0; i < 10; i++) exchange.depthUpdate('BTCUSDT');
  await caughtUp(setup);
  const beforeBreak = probe.books.length;
  exchange.depthUpdate('BTCUSDT', { send: false });
  for (let i = 0; i < 10; i++) exchange.depthUpdate('BTCUSDT');
  await caughtUp(setup);
  t.is(probe.count('gap'), 1);
  t.is(exchange.depthRequests.length, 2);
  const snapshots = probe.books.flatMap((r, i) => (r.action === 'snapshot' ? [i] : []));
  t.deepEqual(snapshots, [0, beforeBreak]);
  assertTrueBook(t, setup);
  await tearDown();
});

test('a book cut at the REST depth stays exact from its best level down: changes beyond the cut are ignored', async (t) => {
  const setup = await setUp({ depthLimit: 20 });
  const { exchange, tearDown } = setup;
  for (let i = 0; i < 300; i++) exchange.depthUpdate('BTCUSDT');
  await caughtUp(setup, 'cut');
  assertTrueBook(t, setup, 'cut');
  t.true(subscriberBook(btcBooks(setup.probe)).book.depth.bids <= 20);
  await tearDown();
});

test('a cut book left with fewer levels than the checksum covers is fetched again (book_depth), never published short', async (t) => {
  const setup = await setUp({ depthLimit: 10 });
  const { exchange, probe, tearDown } = setup;
  for (let i = 0; i < 100; i++) {
    exchange.depthUpdate('BTCUSDT');
    // One event at a time, so that each resync has its REST snapshot before the next change.
    await caughtUp(setup, 'cut');
  }
  t.true(probe.rejectReasons().includes('book_depth'));
  t.is(probe.rejectReasons().filter((reason) => reason !== 'book_depth').length, 0);
  t.true(exchange.depthRequests.length > 1);
  assertTrueBook(t, setup, 'cut');
  await tearDown();
});

test('a book record the publisher refuses is followed by a snapshot of the adapter\'s book', async (t) => {
  const setup = await setUp();
  const { exchange, probe, tearDown } = setup;
  probe.refusedBooks.add(3);
  exchange.depthUpdate('BTCUSDT');
  await caughtUp(setup);
  for (let i = 0; i < 10; i++) exchange.depthUpdate('BTCUSDT');
  await caughtUp(setup);
  t.deepEqual(probe.books.map((r) => r.action).slice(0, 5), ['snapshot', 'update', 'update', 'update', 'snapshot']);
  // What went out: every record but the refused one.
  const published = probe.books.filter((_, i) => i !== 3);
  const { book, mismatches } = subscriberBook(published);
  t.deepEqual(mismatches, []);
  t.true(showsTruth(book, exchange.truth('BTCUSDT'), 'whole'));
  await tearDown();
});

test('bad REST replies and a snapshot that never comes are counted and retried with backoff; the book then syncs', async (t) => {
  const setup = await setUp({ snapshotTimeoutMs: 500 });
  const { exchange, probe, tearDown } = setup;
  exchange.depthReplies.push(
    { status: 429, body: '{"code":-1003,"msg":"Too many requests"}' },
    { status: 200, body: 'not json' },
    { status: 200, body: '[1,2]' },
    { status: 200, body: '{"lastUpdateId":"x","bids":[],"asks":[]}' },
    { status: 200, body: '{"lastUpdateId":1,"bids":[["1e5","1"]],"asks":[]}' },
    'hang',
  );
  exchange.depthUpdate('BTCUSDT');
  await caughtUp(setup);
  t.deepEqual(probe.rejectReasons(), ['rest_http', 'rest_json', 'rest_shape', 'field', 'field', 'rest_timeout']);
  t.is(exchange.depthRequests.length, 7);
  t.is(probe.count('crash'), 0);
  // Retries after 20, 40, 80, 160 and 200 ms (FAST_BACKOFF), each less up to half by jitter, and the 500 ms timeout.
  const at = probe.timesOf('rejected');
  t.true(at[5]! - at[0]! >= 700, `retried over ${(at[5]! - at[0]!).toFixed(0)} ms`);
  assertTrueBook(t, setup);
  await tearDown();
});

test('a malformed diff event is counted and resyncs the book; a buffer that overflows while the snapshot is awaited starts the sync over', async (t) => {
  const setup = await setUp({ maxBufferedEvents: 10 });
  const { exchange, probe, tearDown } = setup;
  exchange.depthUpdate('BTCUSDT');
  await caughtUp(setup);
  exchange.send({ stream: 'btcusdt@depth@100ms', data: { e: 'depthUpdate', E: 1, s: 'BTCUSDT', U: 1, u: 2, b: [['x', '1']], a: [] } });
  exchange.depthReplies.push('held');
  exchange.depthUpdate('BTCUSDT');
  await exchange.until(() => exchange.depthRequests.length === 2, 'the second depth request');
  for (let i = 0; i < 10; i++) exchange.depthUpdate('BTCUSDT');
  await probe.until(() => probe.rejectReasons().includes('depth_buffer'), 'the buffer overflow');
  exchange.depthUpdate('BTCUSDT');
  await caughtUp(setup);
  t.deepEqual(probe.rejectReasons(), ['field', 'depth_buffer']);
  t.is(exchange.depthRequests.length, 3);
  t.deepEqual(probe.books.map((r) => r.action), ['snapshot', 'snapshot']);
  assertTrueBook(t, setup);
  await tearDown();
});

test('a dropped connection resyncs each book from a fresh REST snapshot', async (t) => {
  const setup = await setUp();
  const { exchange, probe, tearDown } = setup;
  exchange.depthUpdate('BTCUSDT');
  await caughtUp(setup);
  exchange.drop();
  await exchange.connected(2);
  await probe.until(() => probe.count('connected') === 2, 'connected again');
  exchange.depthUpdate('BTCUSDT');
  await caughtUp(setup);
  t.is(exchange.depthRequests.length, 2);
  t.deepEqual(probe.books.map((r) => r.action), ['snapshot', 'snapshot']);
  assertTrueBook(t, setup);
  await tearDown();
});

test('each book is published as a snapshot again every bookSnapshotIntervalMs', async (t) => {
  const intervalMs = 150;
  const setup = await setUp({ bookSnapshotIntervalMs: intervalMs });
  const { exchange, probe, tearDown } = setup;
  exchange.depthUpdate('BTCUSDT');
  await probe.until(() => probe.books.filter((r) => r.action === 'snapshot').length >= 4, '4 snapshots');
  const at = probe.bookTimes.filter((_, i) => probe.books[i]!.action === 'snapshot');
  const periods = at.slice(2).map((x, i) => x - at[i + 1]!);
  t.true(onTime(periods, intervalMs), `periods ${periods.map((ms) => ms.toFixed(0)).join(', ')} ms`);
  t.is(probe.books.filter((r) => r.symbol === 'ETHUSDT').length, 0, 'a book not synced is not published');
  assertTrueBook(t, setup);
  await tearDown();
});
