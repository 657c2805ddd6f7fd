import test from 'ava';
import { binanceFeed } from '../../src/feeds/binance/index.js';
import { encodeTickRecord } from '../../src/wire/index.js';
import { FAST_BACKOFF, onMockExchange } from './_helpers.js';
import { MockBinance } from './mocks/binance.js';

const DAY_MS = 24 * 3_600_000;

/** A Binance adapter connected to its own mock exchange. */
function setUp(plannedReconnectMs = DAY_MS, maxConnectionAgeMs = 0) {
  const exchange = new MockBinance(maxConnectionAgeMs);
  return onMockExchange(
    exchange,
    (url) => binanceFeed({ url, venue: 'BN', symbols: ['btcusdt', 'ETHUSDT'], backoff: FAST_BACKOFF, maxMessageBytes: 1024 * 1024, plannedReconnectMs }),
    () => exchange.connected(1),
  );
}

test('subscribes through the combined-stream URL, bookTicker and aggTrade per symbol', async (t) => {
  const { exchange, tearDown } = await setUp();
  t.is(new URL(exchange.connections[0]!.url, 'ws://x').pathname, '/stream');
  t.deepEqual(exchange.streams(), ['btcusdt@bookTicker', 'btcusdt@aggTrade', 'ethusdt@bookTicker', 'ethusdt@aggTrade']);
  await tearDown();
});

test('quotes and trades merge into full records; summed trade sizes stay exact (0.1 + 0.2 = 0.3)', async (t) => {
  const { exchange, probe, tearDown } = await setUp();
  exchange.bookTicker('BTCUSDT', { b: '64000.10000000', B: '0.10000000', a: '64000.20000000', A: '0.20000000' });
  exchange.aggTrade('BTCUSDT', 100, '64000.20000000', '0.10000000', 1_764_070_000_123);
  exchange.aggTrade('BTCUSDT', 101, '64000.10000000', '0.20000000', 1_764_070_000_456);
  await probe.recordCount(3);
  t.deepEqual(probe.records.map((r) => encodeTickRecord(r).toString()), [
    '{"venue":"BN","symbol":"BTCUSDT","bid":64000.1,"bidSize":0.1,"ask":64000.2,"askSize":0.2}',
    '{"venue":"BN","symbol":"BTCUSDT","bid":64000.1,"bidSize":0.1,"ask":64000.2,"askSize":0.2,"last":64000.2,"lastSize":0.1,"volume":0.1,"exchTs":1764070000123000}',
    '{"venue":"BN","symbol":"BTCUSDT","bid":64000.1,"bidSize":0.1,"ask":64000.2,"askSize":0.2,"last":64000.1,"lastSize":0.2,"volume":0.3,"exchTs":1764070000456000}',
  ]);
  await tearDown();
});

test('a jump in aggregate trade ids counts an upstream gap; a repeated book update is dropped', async (t) => {
  const { exchange, probe, tearDown } = await setUp();
  exchange.aggTrade('ETHUSDT', 7, '3100', '1');
  exchange.aggTrade('ETHUSDT', 8, '3100', '1');
  exchange.aggTrade('ETHUSDT', 12, '3100', '1');
  exchange.bookTicker('ETHUSDT');
  exchange.repeatedBookTicker('ETHUSDT');
  exchange.aggTrade('ETHUSDT', 12, '3100', '1');
  exchange.bookTicker('ETHUSDT');
  await probe.recordCount(5);
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

test('a planned reconnect replaces the connection before the exchange cuts it: never reported down', async (t) => {
  // The mock cuts connections at 600 ms, as Binance does at 24 h; the adapter replaces them at 300 ms.
  const { exchange, probe, tearDown } = await setUp(300, 600);
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
