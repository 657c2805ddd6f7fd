/**
 * The gateway's drain (PROTOCOL.md section 5, "Draining"): the spreading schedule as a pure
 * function, and a real in-process gateway draining raw WebSocket clients.
 */
import anyTest, { type TestFn } from 'ava';
import { dueAt, dueCount, MIN_SLICE_MS, spreadEvenly } from '../../src/gateway/drain.js';
import { Fabric, isData, refusedUpgrade, WsClient, checkEveryFrame } from './_helpers.js';

const test = anyTest as TestFn<{ clients: WsClient[] }>;

test('dueCount: the first item at once, the k-th of n at window * k / n, all of them by the end or with no window', (t) => {
  t.is(dueCount(10, 0, 1000), 1, 'the first at once');
  t.is(dueCount(10, 99, 1000), 1);
  t.is(dueCount(10, 100, 1000), 2);
  t.is(dueCount(10, 950, 1000), 10, 'the last one a slot before the end');
  t.is(dueCount(10, 5000, 1000), 10, 'never more than there are');
  t.is(dueCount(10, 0, 0), 10, 'no window: every item at once');
  t.is(dueCount(0, 0, 1000), 0);
  t.is(dueCount(1, 0, 1000), 1, 'one item goes at once');
  for (const n of [1, 3, 7, 100, 1000]) {
    for (let k = 0; k < n; k++) t.true(dueCount(n, dueAt(k, n, 5000), 5000) >= k + 1, `item ${k} of ${n} is due at its own time`);
  }
});

test('property: dueCount never decreases over time and spreads n items evenly (each slot of window/n holds one)', (t) => {
  for (const n of [2, 9, 64, 1000]) {
    const windowMs = 5000;
    let last = 0;
    const perTenth = new Array(10).fill(0);
    for (let ms = 0; ms <= windowMs; ms++) {
      const due = dueCount(n, ms, windowMs);
      t.true(due >= last, `${n} items at ${ms} ms`);
      if (ms < windowMs) perTenth[Math.floor((ms * 10) / windowMs)] += due - last;
      last = due;
    }
    t.is(last, n);
    const expected = n / 10;
    for (const count of perTenth) t.true(Math.abs(count - expected) <= 1 + expected * 0.01, `${n} items: ${perTenth.join(',')} per tenth of the window`);
  }
});

test('spreadEvenly calls back on every item in order over the window, in slices, and stops when told', async (t) => {
  const times: number[] = [];
  const order: number[] = [];
  const started = performance.now();
  const items = Array.from({ length: 40 }, (_, i) => i);
  await new Promise<void>((resolve) => {
    spreadEvenly(items, 400, (item) => {
      order.push(item);
      times.push(performance.now() - started);
      if (order.length === items.length) resolve();
    });
  });
  t.deepEqual(order, items, 'in order, each once');
  t.true(times[0]! < MIN_SLICE_MS, `the first at once (${times[0]!.toFixed(1)} ms)`);
  for (let k = 0; k < items.length; k++) t.true(times[k]! >= dueAt(k, items.length, 400) - 1, `item ${k} not before its time`);
  t.true(times.at(-1)! >= 380 && times.at(-1)! < 600, `the last near the end of the window (${times.at(-1)!.toFixed(0)} ms)`);

  const stopped: number[] = [];
  spreadEvenly(items, 400, (item) => stopped.push(item)).stop();
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.deepEqual(stopped, [0], 'after stop() only what was already due');

  const finished: number[] = [];
  spreadEvenly(items, 400, (item) => finished.push(item)).finish();
  t.deepEqual(finished, items, 'finish() does the rest at once, in order');
});

let fabric: Fabric;

test.before(async () => {
  fabric = await Fabric.startSmall(300, 13);
});

test.after.always(async () => {
  await fabric?.stop();
});

checkEveryFrame(test);

test('drain: not ready at once, upgrades refused with 503, clients keep their stream until each is closed with 1012, spread over drainMs', async (t) => {
  const drainMs = 1000;
  const gw = await fabric.gatewayFor(t, { TICKFAN_GATEWAY_DRAIN_MS: String(drainMs) });
  const clients: WsClient[] = [];
  for (let i = 0; i < 20; i++) clients.push(await gw.join());
  await Promise.all(clients.map((client) => client.request({ op: 'subscribe', id: 1, topics: ['tick.SIM.*'] })));
  t.true(await gw.gateway.ready(), 'ready before the drain');

  const started = performance.now();
  const drained = gw.gateway.drain();
  t.true(gw.gateway.draining);
  t.false(await gw.gateway.ready(), 'not ready as soon as the drain begins');
  t.is(await refusedUpgrade(gw.url), 503, 'a new upgrade is refused');
  t.is(gw.gateway.counters.upgradesRefused.get('draining'), 1);

  const closes = await Promise.all(clients.map(async (client) => ({ ...(await client.closed), at: performance.now() - started, client })));
  await drained;
  const elapsed = performance.now() - started;
  t.deepEqual([...new Set(closes.map((close) => close.code))], [1012], 'every client closed with 1012');
  const times = closes.map((close) => close.at).sort((a, b) => a - b);
  t.true(times[0]! < drainMs / 10, `the first close at once (${times[0]!.toFixed(0)} ms)`);
  t.true(times.at(-1)! >= drainMs * 0.85, `the last close late in the window (${times.at(-1)!.toFixed(0)} ms)`);
  const perTenth = new Array(10).fill(0);
  for (const at of times) perTenth[Math.min(9, Math.floor((at * 10) / drainMs))]++;
  t.true(perTenth.every((count) => count <= 4), `closes per tenth of the window: ${perTenth.join(',')}`);
  t.true(elapsed < drainMs + 500, `drained in ${elapsed.toFixed(0)} ms`);
  // The later a client was closed, the longer it kept its live stream.
  const last = closes.reduce((a, b) => (a.at > b.at ? a : b));
  const ticksAfterDrainBegan = last.client.events.filter((e, i) => isData(e) && last.client.arrivals[i]! > started + drainMs / 2).length;
  t.true(ticksAfterDrainBegan > 0, 'the last client closed still got ticks late in the window');
  t.is(gw.gateway.counters.closedByCode.get(1012), clients.length, 'the 1012 closes are counted by code');
  t.is(gw.gateway.connections, 0);
});

test('drain with no clients ends at once; with drainMs 0 every client is closed at once', async (t) => {
  const idle = await fabric.gatewayFor(t, { TICKFAN_GATEWAY_DRAIN_MS: '5000' });
  const started = performance.now();
  await idle.gateway.drain();
  t.true(performance.now() - started < 100, 'nobody to hand over: done');

  const all = await fabric.gatewayFor(t, { TICKFAN_GATEWAY_DRAIN_MS: '0' });
  const clients = [await all.join(), await all.join(), await all.join()];
  await all.gateway.drain();
  t.deepEqual((await Promise.all(clients.map((client) => client.closed))).map((close) => close.code), [1012, 1012, 1012]);
});

test('close() during a drain ends it: the clients not yet restarted get 1001', async (t) => {
  const gw = await fabric.gatewayFor(t, { TICKFAN_GATEWAY_DRAIN_MS: '60000' });
  const clients = [await gw.join(), await gw.join(), await gw.join()];
  const drained = gw.gateway.drain();
  const first = await clients[0]!.closed;
  await gw.gateway.close();
  await drained;
  const rest = await Promise.all(clients.slice(1).map((client) => client.closed));
  t.is(first.code, 1012);
  t.deepEqual(rest.map((close) => close.code), [1001, 1001]);
});
