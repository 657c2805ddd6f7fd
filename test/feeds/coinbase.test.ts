import test from 'ava';
import { coinbaseFeed } from '../../src/feeds/coinbase/index.js';
import { encodeTickRecord } from '../../src/wire/index.js';
import { AdapterProbe, FAST_BACKOFF, onMockExchange } from './_helpers.js';
import { MockCoinbase } from './mocks/coinbase.js';

/** A Coinbase adapter on its own mock exchange, started and subscribed. */
function setUp(products = ['BTC-USD', 'ETH-USD']) {
  const exchange = new MockCoinbase();
  return onMockExchange(
    exchange,
    (url) => coinbaseFeed({ url, venue: 'CB', symbols: products, backoff: FAST_BACKOFF, maxMessageBytes: 1024 * 1024 }),
    () => exchange.subscribed(),
  );
}

test('subscribes as Coinbase documents and reports connected', async (t) => {
  const { exchange, probe, tearDown } = await setUp();
  t.deepEqual(exchange.connections[0]!.received[0], { type: 'subscribe', product_ids: ['BTC-USD', 'ETH-USD'], channels: ['ticker', 'heartbeat'] });
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
  exchange.send({ type: 'l2update', product_id: 'BTC-USD' });
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
  const probe = new AdapterProbe(coinbaseFeed({ url: exchange.url, venue: 'CB', symbols: ['BTC-USD', 'NOPE-USD'], backoff: FAST_BACKOFF, maxMessageBytes: 65536 }));
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
