import test from 'ava';
import type { StatusRecord } from '../../src/wire/index.js';
import { FeedFabric } from './_fabric.js';
import { MockCoinbase } from './mocks/coinbase.js';

/** The feed role with a Coinbase adapter on a mock exchange, status.CB and tick.CB. followed by a plain SUB. */
async function coinbaseRole(env: Record<string, string> = {}) {
  const exchange = new MockCoinbase(['BTC-USD']);
  await exchange.listening;
  const fabric = await new FeedFabric().start(['status.CB', 'tick.CB.'], {
    TICKFAN_FEEDS_COINBASE_ENABLED: 'true', TICKFAN_FEEDS_COINBASE_URL: exchange.url, TICKFAN_FEEDS_COINBASE_VENUE: 'CB', TICKFAN_FEEDS_COINBASE_PRODUCT_IDS: 'BTC-USD',
    TICKFAN_FEEDS_RECONNECT_MIN_DELAY_MS: '20', TICKFAN_FEEDS_RECONNECT_MAX_DELAY_MS: '100',
    ...env,
  });
  return {
    exchange, fabric,
    statuses: () => fabric.of('status.CB').map((m) => m.record as StatusRecord),
    coinbase: () => fabric.role.adapters().find((a) => a.name === 'coinbase')!,
    async tearDown() {
      await fabric.stop();
      await fabric.close();
      await exchange.close();
    },
  };
}

/** Consecutive equal states collapsed: the transitions a subscriber saw. */
function transitions(statuses: readonly StatusRecord[]): string[] {
  return statuses.map((s) => s.state).filter((state, i, all) => i === 0 || all[i - 1] !== state);
}

test('an exchange adapter\'s venue is down while it is disconnected and up again once it ticks after the reconnect', async (t) => {
  const { exchange, fabric, statuses, coinbase, tearDown } = await coinbaseRole();
  await exchange.subscribed();
  exchange.ticker('BTC-USD', {});
  await fabric.until(() => statuses().at(-1)?.state === 'up', 'CB up');
  exchange.drop();
  await fabric.until(() => statuses().at(-1)?.state === 'down', 'CB down');
  t.regex(statuses().at(-1)!.reason!, /^disconnected: /);
  await exchange.subscribed(2);
  exchange.ticker('BTC-USD', {});
  await fabric.until(() => statuses().at(-1)?.state === 'up' && fabric.of('tick.CB.').length === 2, 'CB up again, ticking');
  t.deepEqual(transitions(statuses()), ['down', 'up', 'down', 'up'], 'declared down before the first record');
  t.deepEqual(fabric.of('tick.CB.').map((m) => m.header.seq), [1, 2]);
  // Records of every class: each subscription's book snapshot, and the two ticks.
  t.like(coinbase(), { up: true, ticks: 4, reconnects: 1, restarts: 0, venues: ['CB'] });
  await tearDown();
});

test('an exchange that stalls (connected, subscribed, silent) is restarted by the supervisor and subscribed afresh', async (t) => {
  const { exchange, fabric, statuses, coinbase, tearDown } = await coinbaseRole({ TICKFAN_FEEDS_RESTART_STALL_MS: '400', TICKFAN_FEEDS_RESTART_MIN_DELAY_MS: '20' });
  await exchange.subscribed();
  exchange.ticker('BTC-USD', {});
  // From here on the mock sends nothing, though the connection stays open.
  await exchange.subscribed(2);
  t.true(exchange.connections[0]!.closed, 'the stalled connection was closed');
  t.true(statuses().some((s) => s.state === 'down' && /stalled: no tick for 400 ms while connected/.test(s.reason!)));
  exchange.ticker('BTC-USD', {});
  await fabric.until(() => fabric.of('tick.CB.').length === 2, 'a tick after the restart');
  t.like(coinbase(), { restarts: 1, reconnects: 0, up: true });
  await tearDown();
});
