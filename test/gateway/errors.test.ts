/**
 * PROTOCOL.md section 5 errors, limits and close codes, as a raw WebSocket client sees them, on
 * a real gateway wired to a real proxy, snapshot service and simulated feed in this process.
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { Fabric, isData, quietFor, refusedUpgrade, WsClient, type ServerEvent, checkEveryFrame } from './_helpers.js';
import { pollUntil } from '../helpers/poll.js';

const test = anyTest as TestFn<{ clients: WsClient[] }>;

let fabric: Fabric;

test.before(async () => {
  fabric = await Fabric.startSmall(300, 11);
});

test.after.always(async () => {
  await fabric?.stop();
});

checkEveryFrame(test);

const gateway = (t: { context: { clients: WsClient[] } }, env: Record<string, string> = {}) => fabric.gatewayFor(t, env);

/** Sends a raw frame and returns the error event it causes (the next error after it). */
async function errorFor(client: WsClient, frame: string | Buffer): Promise<ServerEvent> {
  const from = client.events.length;
  if (typeof frame === 'string') client.send(frame);
  else client.ws.send(frame, { binary: true });
  return (await client.waitFor((e) => e.type === 'error', { from, what: `the error for ${String(frame).slice(0, 100)}` })).event;
}

/** The connection is still open and answering. */
async function stillOpen(t: ExecutionContext, client: WsClient): Promise<void> {
  t.deepEqual(await client.request({ op: 'ping', id: 'alive?' }), { type: 'pong', id: 'alive?' });
  t.is(client.closeCode, undefined);
}

test('BAD_REQUEST: malformed JSON, not an object, unknown op, bad fields, binary frames; the connection stays open', async (t) => {
  const gw = await gateway(t);
  const client = await gw.join();
  const cases: [string | Buffer, unknown][] = [
    ['{"op":"ping"', undefined],
    ['not json', undefined],
    ['[{"op":"ping","id":1}]', undefined],
    ['42', undefined],
    ['{"op":"dance","id":7}', 7],
    ['{"id":"x"}', 'x'],
    ['{"op":"subscribe","id":8}', 8],
    ['{"op":"subscribe","id":9,"topics":[]}', 9],
    ['{"op":"subscribe","id":10,"topics":[1]}', 10],
    ['{"op":"subscribe","id":11,"topics":["tick.SIM.*"],"snapshot":"yes"}', 11],
    ['{"op":"subscribe","id":12,"topics":["tick.SIM.*"],"conflate":1}', 12],
    ['{"op":"subscribe","id":13,"topics":["tick.SIM.*"],"since":{"tick.SIM.BTC-USD":{"epoch":0,"seq":1}}}', 13],
    ['{"op":"unsubscribe","id":14}', 14],
    ['{"op":"list","id":15,"prefix":5}', 15],
    ['{"op":"ping","id":{"no":1}}', undefined],
    [Buffer.from('{"op":"ping","id":16}'), undefined],
  ];
  for (const [frame, id] of cases) {
    const error = await errorFor(client, frame);
    t.is(error.code, 'BAD_REQUEST', String(frame));
    t.is(error.id, id, `${String(frame)}: id`);
    t.is(typeof error.message, 'string');
    t.true((error.message as string).length > 0);
    t.deepEqual(Object.keys(error).filter((k) => !['type', 'id', 'code', 'message'].includes(k)), []);
  }
  await stillOpen(t, client);
  t.is(gw.gateway.subscriptions, 0, 'nothing was subscribed by the refused requests');
});

test('BAD_TOPIC: a subscribe with any invalid pattern is rejected whole, nothing subscribed', async (t) => {
  const gw = await gateway(t);
  const client = await gw.join();
  for (const bad of ['tick.SIM', 'tick.SIM.BTC USD', 'tick..*', 'foo.bar', 'tick.*.BTC-USD', '', 'tick.SIM.**']) {
    const error = await errorFor(client, JSON.stringify({ op: 'subscribe', id: 'b', topics: ['tick.SIM.*', bad, 'tick.SIMEQ.AAPL'] }));
    t.is(error.code, 'BAD_TOPIC', bad);
    t.is(error.id, 'b');
    t.regex(error.message as string, /topic|pattern/);
  }
  const from = client.events.length;
  await quietFor(300);
  t.deepEqual(client.data(), [], 'no event of the valid patterns either (300 ms at ~100 ticks/s per topic)');
  t.deepEqual(client.events.slice(from), []);
  t.is(gw.gateway.subscriptions, 0);
  t.deepEqual(gw.gateway.upstreamPrefixes, []);
  const error = await errorFor(client, JSON.stringify({ op: 'unsubscribe', id: 'u', topics: ['tick.SIM.*', 'tick.SIM'] }));
  t.is(error.code, 'BAD_TOPIC');
  await stillOpen(t, client);
});

test('RATE_LIMITED: subscribe requests beyond subscribeOpsPerSecond, the connection kept', async (t) => {
  const gw = await gateway(t, { TICKFAN_GATEWAY_SUBSCRIBE_OPS_PER_SECOND: '2' });
  const client = await gw.join();
  const from = client.events.length;
  for (let id = 1; id <= 4; id++) client.send({ op: 'subscribe', id, topics: ['tick.SIM.BTC-USD'] });
  await client.until(() => client.events.slice(from).filter((e) => e.type === 'subscribed' || e.type === 'error').length === 4);
  const answers = client.events.slice(from).filter((e) => !isData(e));
  t.deepEqual(answers.filter((e) => e.type === 'subscribed').map((e) => e.id), [1, 2]);
  const limited = answers.filter((e) => e.type === 'error');
  t.deepEqual(limited.map((e) => [e.id, e.code]), [[3, 'RATE_LIMITED'], [4, 'RATE_LIMITED']]);
  t.regex(limited[0]!.message as string, /2 subscribe requests per second/);
  await stillOpen(t, client);
  // Other requests are not limited; the next second allows subscribes again.
  for (let i = 0; i < 5; i++) t.is((await client.request({ op: 'list', id: `l${i}`, prefix: 'tick.SIM.' })).type, 'topics');
  let answer: ServerEvent;
  const deadline = performance.now() + 3000;
  do {
    answer = await client.request({ op: 'subscribe', id: 'again', topics: ['tick.SIM.ETH-USD'] });
    if (answer.type === 'error') await quietFor(250);
  } while (answer.type === 'error' && answer.code === 'RATE_LIMITED' && performance.now() < deadline);
  t.is(answer.type, 'subscribed');
});

test('TOO_MANY_SUBSCRIPTIONS: patterns per connection beyond maxSubscriptions; the request is refused whole', async (t) => {
  const gw = await gateway(t, { TICKFAN_GATEWAY_MAX_SUBSCRIPTIONS: '2' });
  const client = await gw.join();
  const error = await client.request({ op: 'subscribe', id: 1, topics: ['tick.SIM.BTC-USD', 'tick.SIM.ETH-USD', 'tick.SIMEQ.*'] });
  t.like(error, { type: 'error', id: 1, code: 'TOO_MANY_SUBSCRIPTIONS' });
  t.is(gw.gateway.subscriptions, 0);
  t.like(await client.request({ op: 'subscribe', id: 2, topics: ['tick.SIM.BTC-USD', 'tick.SIM.ETH-USD'] }), { type: 'subscribed', id: 2 });
  t.like(await client.request({ op: 'subscribe', id: 3, topics: ['tick.SIMEQ.*'] }), { type: 'error', id: 3, code: 'TOO_MANY_SUBSCRIPTIONS' });
  t.like(await client.request({ op: 'subscribe', id: 4, topics: ['tick.SIM.BTC-USD'] }), { type: 'subscribed', id: 4 }, 'a pattern already held does not count again');
  t.is(gw.gateway.subscriptions, 2);
  await client.request({ op: 'unsubscribe', id: 5, topics: ['tick.SIM.ETH-USD'] });
  t.like(await client.request({ op: 'subscribe', id: 6, topics: ['tick.SIMEQ.*'] }), { type: 'subscribed', id: 6 });
  await stillOpen(t, client);
});

test('repeated abuse (a burst of bad requests) closes the connection with 1008, after its error events', async (t) => {
  const gw = await gateway(t);
  const client = await gw.join();
  for (let i = 0; i < 40; i++) client.send('{"op":');
  const { code } = await client.closed;
  t.is(code, 1008);
  const errors = client.events.filter((e) => e.type === 'error');
  t.true(errors.length >= 10, `the errors before the close were sent (${errors.length})`);
  t.true(errors.every((e) => e.code === 'BAD_REQUEST'));
  const bystander = await gw.join();
  await stillOpen(t, bystander);
});

test('a frame over 64 KiB closes with 1009; one of exactly 64 KiB is served', async (t) => {
  const gw = await gateway(t);
  const client = await gw.join();
  const frame = (bytes: number): string => {
    const base = '{"op":"ping","id":"big","pad":""}';
    return base.replace('"pad":""', `"pad":"${'x'.repeat(bytes - base.length)}"`);
  };
  t.is(frame(64 * 1024).length, 65536);
  client.send(frame(64 * 1024));
  await client.waitFor((e) => e.type === 'pong' && e.id === 'big');
  client.send(frame(64 * 1024 + 1));
  const { code } = await client.closed;
  t.is(code, 1009);
});

test('frames ws refuses before the gateway sees them are counted by the code ws closed with (1009 over 64 KiB, 1007 a text frame not UTF-8), not as 1006', async (t) => {
  const gw = await gateway(t);
  const big = await gw.join();
  const badText = await gw.join();
  big.send('x'.repeat(64 * 1024 + 1));
  badText.ws.send(Buffer.from([0x22, 0xff, 0x22]), { binary: false });
  t.is((await big.closed).code, 1009);
  t.is((await badText.closed).code, 1007);
  await pollUntil(async () => gw.gateway.connections === 0, 'the gateway to drop both connections', 5000, 10);
  t.deepEqual([...gw.gateway.counters.closedByCode].sort(), [[1007, 1], [1009, 1]]);
});

test('gateway shutdown closes every client with 1001', async (t) => {
  const gw = await gateway(t);
  const a = await gw.join();
  const b = await gw.join();
  await b.request({ op: 'subscribe', id: 1, topics: ['tick.SIM.*'] });
  await gw.gateway.close();
  const [ca, cb] = await Promise.all([a.closed, b.closed]);
  t.is(ca.code, 1001);
  t.is(cb.code, 1001);
  t.deepEqual(gw.gateway.upstreamPrefixes, []);
});

test('connections beyond maxConnections are refused (HTTP 503); room again once one leaves', async (t) => {
  const gw = await gateway(t, { TICKFAN_GATEWAY_MAX_CONNECTIONS: '2' });
  const a = await gw.join();
  const b = await gw.join();
  t.is(await refusedUpgrade(gw.url), 503);
  await stillOpen(t, a);
  await stillOpen(t, b);
  await a.close();
  const deadline = performance.now() + 5000;
  while (gw.gateway.connections > 1 && performance.now() < deadline) await quietFor(10);
  const c = await gw.join();
  await stillOpen(t, c);
  t.is(gw.gateway.connections, 2);
});

test('only /v1/ws is a WebSocket endpoint', async (t) => {
  const gw = await gateway(t);
  t.is(await refusedUpgrade(gw.url.replace('/v1/ws', '/ws')), 404);
});

test('UNAVAILABLE: with no snapshot service answering, a subscribe (its state cannot be had now) and a list are refused for now, not as bad requests; the connection stays open', async (t) => {
  const lonely = await Fabric.start({ TICKFAN_CONNECT_SNAPSHOT_TIMEOUT_MS: '100' }, ['proxy']);
  t.teardown(() => lonely.stop());
  const client = await (await lonely.gatewayFor(t)).join();
  const subscribe = await client.request({ op: 'subscribe', id: 's', topics: ['tick.SIM.*'] });
  t.like(subscribe, { type: 'error', id: 's', code: 'UNAVAILABLE' });
  t.regex(String(subscribe.message), /state unavailable/);
  const list = await client.request({ op: 'list', id: 'l', prefix: 'tick.' });
  t.like(list, { type: 'error', id: 'l', code: 'UNAVAILABLE' });
  t.regex(String(list.message), /no snapshot service answered/);
  await stillOpen(t, client);
});
