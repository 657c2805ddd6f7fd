import test from 'ava';
import { coinbaseFeed, type CoinbaseOptions } from '../../src/feeds/coinbase/index.js';
import { encodeTickRecord } from '../../src/wire/index.js';
import { FollowedBook, onTime, showsTruth, subscriberBook, wrongBook, type TruthView } from './_books.js';
import { AdapterProbe, FAST_BACKOFF, onMockExchange } from './_helpers.js';
import { MockCoinbase } from './mocks/coinbase.js';

/** A Coinbase adapter on its own mock exchange, started and subscribed. */
function setUp(products = ['BTC-USD', 'ETH-USD'], settings: Partial<Pick<CoinbaseOptions, 'bookDepth' | 'bookSnapshotIntervalMs'>> = {}) {
  const exchange = new MockCoinbase();
  return onMockExchange(
    exchange,
    (url) => coinbaseFeed({ url, venue: 'CB', symbols: products, backoff: FAST_BACKOFF, maxMessageBytes: 1024 * 1024, bookDepth: 1000, ...settings }),
    () => exchange.subscribed(),
  );
}

type Setup = Awaited<ReturnType<typeof setUp>>;

/** Resolves once the published book of `product` shows its true book as it is now, to `view`. */
function caughtUp({ exchange, probe }: Setup, product = 'BTC-USD', view: TruthView = 'whole'): Promise<void> {
  const truth = exchange.truth(product);
  const followed = new FollowedBook(() => probe.books.filter((r) => r.symbol === product));
  return probe.until(
    () => showsTruth(followed.book(), truth, view),
    `the book of ${product} at the true book's state ${truth.checksums.length - 1}`,
  );
}

/** BTC-USD's published records match their checksums, never show a state the truth was not in, and end as its book. */
function assertTrueBook(t: import('ava').ExecutionContext, { exchange, probe }: Setup, view: TruthView = 'whole'): void {
  const truth = exchange.truth('BTC-USD');
  const records = probe.books.filter((r) => r.symbol === 'BTC-USD');
  const { book, mismatches } = subscriberBook(records);
  t.deepEqual(mismatches, []);
  t.is(wrongBook(records, truth), undefined);
  t.true(showsTruth(book, truth, view), 'the published book is the true book');
}

test('subscribes as Coinbase documents and reports connected', async (t) => {
  const { exchange, probe, tearDown } = await setUp();
  t.deepEqual(exchange.connections[0]!.received[0], {
    type: 'subscribe', product_ids: ['BTC-USD', 'ETH-USD'], channels: ['ticker', 'heartbeat', 'level2_batch', 'matches'],
  });
  await probe.until(() => probe.count('connected') === 1, 'connected');
  t.is(probe.count('connected'), 1);
  await tearDown();
});

test('a ticker becomes a record with exact decimals, sizes, 24 h stats and exchTs in microseconds', async (t) => {
  const { exchange, probe, tearDown } = await setUp();
  exchange.ticker('ETH-USD', {
    price: '0.3', best_bid: '0.1', best_bid_size: '0.20000000', best_ask: '0.30000000', best_ask_size: '1.1',
    last_size: '0.7', volume_24h: '12345.678901', open_24h: '0.29', high_24h: '0.31', low_24h: '0.28', time: '2026-11-25T17:03:38.061769Z',
  });
  await probe.recordCount(1);
  t.is(
    encodeTickRecord(probe.records[0]!).toString(),
    '{"venue":"CB","symbol":"ETH-USD","bid":0.1,"bidSize":0.2,"ask":0.3,"askSize":1.1,"last":0.3,"lastSize":0.7,"volume":12345.678901,'
      + `"exchTs":${Date.UTC(2026, 10, 25, 17, 3, 38) * 1000 + 61769},"open":0.29,"high":0.31,"low":0.28}`,
  );
  await tearDown();
});

test('a heartbeat whose last_trade_id is ahead of the newest ticker counts an upstream gap; a stale sequence is dropped', async (t) => {
  const { exchange, probe, tearDown } = await setUp();
  exchange.ticker('BTC-USD', { trade_id: 10 });
  exchange.heartbeat('BTC-USD', 10);
  exchange.ticker('BTC-USD', { trade_id: 11 });
  exchange.heartbeat('BTC-USD', 14);
  exchange.stale('BTC-USD');
  exchange.ticker('BTC-USD', { trade_id: 15 });
  await probe.recordCount(3);
  t.is(probe.count('gap'), 1);
  t.deepEqual(probe.rejectReasons(), ['out_of_order']);
  await tearDown();
});

test('a dropped connection is reported down, reconnected with backoff and resubscribed; ticks flow again', async (t) => {
  const { exchange, probe, tearDown } = await setUp();
  exchange.ticker('BTC-USD', {});
  await probe.recordCount(1);
  exchange.drop();
  await exchange.subscribed(2);
  t.deepEqual(exchange.connections[1]!.received[0], exchange.connections[0]!.received[0]);
  t.is(probe.count('disconnected'), 1);
  t.is(probe.count('reconnecting'), 1);
  await probe.until(() => probe.count('connected') === 2, 'second connected');
  exchange.ticker('BTC-USD', {});
  await probe.recordCount(2);
  t.pass();
  await tearDown();
});

test('an exchange that refuses connections is retried with growing delays', async (t) => {
  const { exchange, probe, tearDown } = await setUp();
  await exchange.close();
  await probe.until(() => probe.count('reconnecting') >= 4, '4 reconnect attempts');
  t.is(probe.count('disconnected'), 1, 'one loss, however many failed attempts follow');
  // Base delays 20, 40, 80, 160 ms, each less up to half by jitter: the 4th wait is longer than the 2nd.
  const at = probe.timesOf('reconnecting');
  t.true(at[3]! - at[2]! > at[1]! - at[0]!, `waits ${at.slice(1).map((x, i) => (x - at[i]!).toFixed(0)).join(', ')} ms`);
  await tearDown();
});

test('garbage, unknown message types and exchange errors are counted, not fatal', async (t) => {
  const { exchange, probe, tearDown } = await setUp(['BTC-USD', 'ETH-USD']);
  exchange.send('not json {');
  exchange.send('[1,2,3]');
  exchange.send({ type: 'level3', product_id: 'BTC-USD' });
  exchange.send({ type: 'error', message: 'Failed to subscribe', reason: 'DOGE-XYZ is not a valid product' });
  exchange.ticker('XRP-USD', {});
  exchange.ticker('BTC-USD', { price: '1e5' });
  exchange.ticker('BTC-USD', { time: 'yesterday' });
  exchange.ticker('BTC-USD', {});
  await probe.recordCount(1);
  t.deepEqual(probe.rejectReasons(), ['json', 'message', 'unknown_type', 'upstream_error', 'unknown_symbol', 'field', 'field']);
  const fieldDetails = probe.events.flatMap((e) => (e.kind === 'rejected' && e.reason === 'field' ? [e.detail] : []));
  t.regex(fieldDetails[0]!, /price: "1e5" is not a decimal string/);
  t.regex(fieldDetails[1]!, /time: "yesterday" is not an ISO-8601/);
  t.is(probe.count('crash'), 0);
  t.is(probe.count('disconnected'), 0);
  await tearDown();
});

test('a subscription the exchange refuses is counted with its reason', async (t) => {
  const exchange = new MockCoinbase(['BTC-USD']);
  await exchange.listening;
  const probe = new AdapterProbe(coinbaseFeed({ url: exchange.url, venue: 'CB', symbols: ['BTC-USD', 'NOPE-USD'], backoff: FAST_BACKOFF, maxMessageBytes: 65536, bookDepth: 1000 }));
  await probe.start();
  await probe.until(() => probe.rejectReasons().includes('upstream_error'), 'the exchange error');
  const error = probe.events.find((e) => e.kind === 'rejected');
  t.regex((error as { detail: string }).detail, /NOPE-USD is not a valid product/);
  await probe.stop();
  await exchange.close();
});

test('no record reaches the sink after stop()', async (t) => {
  const { exchange, probe, tearDown } = await setUp();
  await probe.stop();
  exchange.ticker('BTC-USD', {});
  await exchange.until(() => exchange.connections.every((c) => c.closed), 'the connection closed');
  t.is(probe.records.length, 0);
  await tearDown();
});

test('level2_batch: the snapshot goes out as a snapshot record, each l2update as an update, and the published book is the true book', async (t) => {
  const setup = await setUp();
  const { exchange, probe, tearDown } = setup;
  await caughtUp(setup);
  await caughtUp(setup, 'ETH-USD');
  for (let i = 0; i < 50; i++) exchange.l2update('BTC-USD');
  await caughtUp(setup);
  const records = probe.books.filter((r) => r.symbol === 'BTC-USD');
  t.is(records[0]!.action, 'snapshot');
  t.true(records.slice(1).every((r) => r.action === 'update'));
  t.is(records.at(-1)!.exchTs, Date.UTC(2026, 10, 25, 17, 3, 38) * 1000 + 61769);
  assertTrueBook(t, setup);
  await tearDown();
});

test('a book deeper than bookDepth goes out as its best levels: a level pushed below the depth is removed, one rising into it added', async (t) => {
  const setup = await setUp(['BTC-USD'], { bookDepth: 12 });
  const { exchange, probe, tearDown } = setup;
  await caughtUp(setup, 'BTC-USD', 12);
  for (let i = 0; i < 200; i++) exchange.l2update('BTC-USD');
  await caughtUp(setup, 'BTC-USD', 12);
  t.is(probe.books[0]!.bids.length, 12);
  assertTrueBook(t, setup, 12);
  await tearDown();
});

test('a reconnect brings a new snapshot that replaces the book, changed meanwhile', async (t) => {
  const setup = await setUp(['BTC-USD']);
  const { exchange, probe, tearDown } = setup;
  await caughtUp(setup);
  exchange.l2update('BTC-USD');
  await caughtUp(setup);
  exchange.drop();
  for (let i = 0; i < 5; i++) exchange.l2update('BTC-USD', { send: false });
  await exchange.subscribed(2);
  await caughtUp(setup);
  t.deepEqual(probe.books.map((r) => r.action), ['snapshot', 'update', 'snapshot']);
  assertTrueBook(t, setup);
  await tearDown();
});

test('a malformed l2update or snapshot is counted and the book resubscribed: nothing of it goes out until the fresh snapshot', async (t) => {
  const setup = await setUp(['BTC-USD']);
  const { exchange, probe, tearDown } = setup;
  await caughtUp(setup);
  const time = '2026-11-25T17:03:38.061769Z';
  const malformed = [
    { type: 'l2update', product_id: 'BTC-USD', changes: [['buy', 'abc', '1']], time },
    { type: 'l2update', product_id: 'BTC-USD', changes: [['middle', '1', '1']], time },
    { type: 'l2update', product_id: 'BTC-USD', time },
    { type: 'snapshot', product_id: 'BTC-USD', bids: [['1', '-1']], asks: [] },
  ];
  for (const [i, message] of malformed.entries()) {
    const published = probe.books.length;
    exchange.send(message);
    await exchange.until(() => exchange.connections[0]!.received.length === 3 + 2 * i, `resubscription ${i + 1}`);
    t.deepEqual(exchange.connections[0]!.received.slice(-2), [
      { type: 'unsubscribe', product_ids: ['BTC-USD'], channels: ['level2_batch'] },
      { type: 'subscribe', product_ids: ['BTC-USD'], channels: ['level2_batch'] },
    ]);
    exchange.l2update('BTC-USD');
    await probe.until(() => probe.books.length > published, 'a record after it');
    await caughtUp(setup);
    t.is(probe.books[published]!.action, 'snapshot', 'the first record after it is the fresh snapshot');
  }
  t.deepEqual(probe.rejectReasons(), ['field', 'field', 'field', 'field']);
  t.is(probe.count('crash'), 0);
  assertTrueBook(t, setup);
  await tearDown();
});

test('matches: trades with the taker\'s side (the opposite of the maker side Coinbase sends); a jump in trade_id is a gap; stale ones are dropped', async (t) => {
  const { exchange, probe, tearDown } = await setUp(['BTC-USD']);
  exchange.match('BTC-USD', 10, 'buy', {}, 'last_match');
  exchange.match('BTC-USD', 11, 'sell');
  exchange.match('BTC-USD', 12, 'buy', { price: '400.5', size: '0.1' });
  exchange.match('BTC-USD', 15, 'buy');
  exchange.match('BTC-USD', 15, 'buy');
  exchange.match('BTC-USD', 16, 'sideways' as 'buy');
  exchange.match('BTC-USD', 16, 'sell');
  await probe.until(() => probe.trades.length === 5, '5 trades');
  t.deepEqual(probe.trades.map((trade) => [trade.tradeId, trade.side]), [['10', 'sell'], ['11', 'buy'], ['12', 'sell'], ['15', 'sell'], ['16', 'buy']]);
  t.deepEqual(probe.trades[2], { venue: 'CB', symbol: 'BTC-USD', price: 400.5, size: 0.1, side: 'sell', tradeId: '12', exchTs: Date.UTC(2026, 10, 25, 17, 3, 38) * 1000 + 61769 });
  t.is(probe.count('gap'), 1);
  t.deepEqual(probe.rejectReasons(), ['out_of_order', 'field']);
  await tearDown();
});

test('a last_match that repeats the newest trade after a reconnect is not published again', async (t) => {
  const { exchange, probe, tearDown } = await setUp(['BTC-USD']);
  exchange.match('BTC-USD', 10, 'buy', {}, 'last_match');
  await probe.until(() => probe.trades.length === 1, 'the last match');
  exchange.drop();
  await exchange.subscribed(2);
  exchange.match('BTC-USD', 10, 'buy', {}, 'last_match');
  exchange.match('BTC-USD', 11, 'buy');
  await probe.until(() => probe.trades.length === 2, 'the next match');
  t.deepEqual(probe.trades.map((trade) => trade.tradeId), ['10', '11']);
  t.deepEqual(probe.rejectReasons(), []);
  await tearDown();
});

test('each book is published as a snapshot again every bookSnapshotIntervalMs, spread over the interval', async (t) => {
  const intervalMs = 200;
  const setup = await setUp(['BTC-USD', 'ETH-USD'], { bookSnapshotIntervalMs: intervalMs });
  const { probe, tearDown } = setup;
  const snapshotsOf = (product: string) => probe.bookTimes.filter((_, i) => probe.books[i]!.symbol === product && probe.books[i]!.action === 'snapshot');
  await probe.until(() => snapshotsOf('BTC-USD').length >= 6 && snapshotsOf('ETH-USD').length >= 6, '6 snapshots of each book');
  for (const product of ['BTC-USD', 'ETH-USD']) {
    const at = snapshotsOf(product);
    const periods = at.slice(2).map((x, i) => x - at[i + 1]!);
    t.true(onTime(periods, intervalMs), `${product}: periods ${periods.map((ms) => ms.toFixed(0)).join(', ')} ms`);
  }
  // Half an interval apart: two books, spread evenly.
  const apart = Math.abs(snapshotsOf('BTC-USD')[2]! - snapshotsOf('ETH-USD')[2]!);
  t.true(apart >= intervalMs * 0.2 && apart <= intervalMs * 0.8, `${apart.toFixed(0)} ms apart`);
  assertTrueBook(t, setup);
  await tearDown();
});
