import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  connect,
  MAX_REQUEST_BYTES,
  TickfanClient,
  TickfanError,
  type StateChange,
  type Update,
} from '../../src/client/ws/index.js';
import { answerSubscribe, fake, FAST, open, record, sync, type Request } from './fake-gateway.js';
import { freePort, nextState } from './helpers.js';

/**
 * The client's own rules, against a scripted server (FakeGateway) so that exact sequences can
 * be played: duplicates, older seqs, epochs, disconnects at chosen moments, refusals.
 */

test('each seq is applied at most once and never after a newer one; a new epoch replaces the state, an older run does not', async (t) => {
  const server = await fake(t);
  const client = await open(t, server);
  const conn = await server.connection(0);
  const updates: Update[] = [];
  client.on('update', (update) => updates.push(update));
  const subscribing = client.subscribe('tick.X.*');
  await answerSubscribe(conn, record('snapshot', 'tick.X.A', 7, 10, 1000));
  t.deepEqual(await subscribing, ['tick.X.*']);

  conn.send(
    record('tick', 'tick.X.A', 7, 11, 1100),
    record('tick', 'tick.X.A', 7, 11, 1100), // duplicate
    record('tick', 'tick.X.A', 7, 9, 900), // older
    record('tick', 'tick.X.A', 7, 13, 1300), // 12 conflated away
    record('snapshot', 'tick.X.A', 7, 12, 1200), // older, as a snapshot
    record('tick', 'tick.X.A', 9, 1, 2000), // the source restarted: new epoch, later ts
    record('tick', 'tick.X.A', 7, 14, 1400), // a leftover of the previous run
    record('tick', 'tick.Y.B', 1, 1, 2000), // nobody subscribed to it
    { type: 'status', venue: 'X', state: 'stale', reason: 'no tick for 5 s', ts: 2100 },
    { type: 'heartbeat', ts: 2200 },
    { type: 'from-the-future', x: 1 }, // unknown event types are ignored
  );
  const statuses: unknown[] = [];
  client.on('status', (status) => statuses.push(status));
  await sync(client, conn);
  t.deepEqual(statuses, [{ type: 'status', venue: 'X', state: 'stale', reason: 'no tick for 5 s', ts: 2100 }]);
  t.is(client.status('X')?.state, 'stale');
  t.deepEqual(updates.map((u) => [u.kind, u.epoch, u.seq, u.skipped, u.reset]), [
    ['snapshot', 7, 10, 0, false],
    ['tick', 7, 11, 0, false],
    ['tick', 7, 13, 1, false],
    ['tick', 9, 1, 0, true],
  ]);
  t.deepEqual(updates[2]!.previous, { epoch: 7, seq: 11 });
  t.deepEqual(client.get('tick.X.A'), { epoch: 9, seq: 1, ts: 2000, record: { venue: 'X', symbol: 'A', last: 1, exchTs: 2000 } });
  t.is(client.get('tick.Y.B'), undefined);
  t.like(client.counters, { applied: 4, duplicates: 3, stale: 1, unsolicited: 1, skipped: 1, resets: 1 });
});

test('after a disconnect every pattern is subscribed again with since from the last position, then what was in flight is sent again', async (t) => {
  const server = await fake(t);
  const client = await open(t, server);
  const first = await server.connection(0);
  const changes: StateChange[] = [];
  client.on('state', (change) => changes.push(change));

  const a = client.subscribe(['tick.A.*'], { conflate: false });
  await answerSubscribe(first, record('snapshot', 'tick.A.1', 5, 50), record('snapshot', 'tick.A.2', 5, 20));
  await a;
  const b = client.subscribe('tick.B.X', { snapshot: true });
  await answerSubscribe(first, record('snapshot', 'tick.B.X', 6, 9));
  await b;
  first.send(record('tick', 'tick.A.1', 5, 51));
  await sync(client, first);

  // In flight when the connection drops: a subscribe and a list, both unanswered.
  const pendingSubscribe = client.subscribe('tick.C.*');
  const pendingList = client.list('tick.');
  await first.nextOf('subscribe');
  await first.nextOf('list');
  const live = nextState(client, (change) => change.state === 'live');
  first.socket.terminate();
  await live;
  t.like(changes.find((change) => change.state === 'reconnecting'), { attempt: 1, code: 1006 });

  const second = await server.connection(1);
  const { request: list } = await second.nextOf('list');
  t.is(list.prefix, 'tick.', 'the unanswered list is sent again');
  second.send({ type: 'topics', id: list.id, topics: ['tick.A.1'] });
  t.deepEqual(await pendingList, ['tick.A.1']);

  const resubscribeA = await answerSubscribe(second);
  t.like(resubscribeA, { topics: ['tick.A.*'], snapshot: true, conflate: false, since: { 'tick.A.1': { epoch: 5, seq: 51 }, 'tick.A.2': { epoch: 5, seq: 20 } } });
  const resubscribeB = await answerSubscribe(second, record('tick', 'tick.B.X', 6, 10));
  t.like(resubscribeB, { topics: ['tick.B.X'], snapshot: true, conflate: true, since: { 'tick.B.X': { epoch: 6, seq: 9 } } });
  const again = await answerSubscribe(second, record('snapshot', 'tick.C.1', 1, 3));
  t.deepEqual(again.topics, ['tick.C.*']);
  t.is(again.since, undefined, 'a new subscription resumes nothing');
  t.deepEqual(await pendingSubscribe, ['tick.C.*']);
  t.deepEqual(client.subscriptions(), ['tick.A.*', 'tick.B.X', 'tick.C.*']);
  t.is(client.get('tick.B.X')!.seq, 10);
  t.is(client.counters.resumedTopics, 3);
  t.is(client.counters.reconnects, 1);
});

test('a since too large for one request is split over several, each under 64 KiB, resuming every topic once', async (t) => {
  const server = await fake(t);
  const client = await open(t, server);
  const first = await server.connection(0);
  const topics = Array.from({ length: 3000 }, (_, i) => `tick.VENUE.SOME-LONGER-SYMBOL-${String(i).padStart(5, '0')}`);
  const subscribing = client.subscribe('tick.VENUE.*');
  await answerSubscribe(first, ...topics.map((topic, i) => record('snapshot', topic, 4_000_000_000, 1_000_000 + i)));
  await subscribing;
  t.is(client.size, topics.length);

  first.socket.terminate();
  const second = await server.connection(1);
  const requests: Request[] = [];
  const resumed = new Map<string, number>();
  while (resumed.size < topics.length) {
    const request = await answerSubscribe(second);
    requests.push(request);
    for (const topic of Object.keys(request.since as object)) resumed.set(topic, (resumed.get(topic) ?? 0) + 1);
  }
  t.true(requests.length >= 3, `${requests.length} requests`);
  t.true(second.raw.every((text) => text.length < MAX_REQUEST_BYTES), `largest request ${Math.max(...second.raw.map((text) => text.length))} bytes`);
  t.true([...resumed.values()].every((count) => count === 1), 'each topic resumed once');
  t.deepEqual(requests.map((r) => r.topics), requests.map(() => ['tick.VENUE.*']));
  t.deepEqual(requests.map((r) => r.snapshot), requests.map((_, i) => i === requests.length - 1), 'only the last part asks for snapshots');
  await sync(client, second);
});

test('a resubscription refused for now (RATE_LIMITED) is tried again; one refused for good is dropped and reported', async (t) => {
  const server = await fake(t);
  const client = await open(t, server);
  const first = await server.connection(0);
  const errors: TickfanError[] = [];
  client.on('error', (err) => errors.push(err));
  const a = client.subscribe('tick.A.*');
  await answerSubscribe(first, record('snapshot', 'tick.A.1', 1, 1));
  await a;
  const b = client.subscribe('tick.B.*', { conflate: false });
  await answerSubscribe(first, record('snapshot', 'tick.B.1', 1, 1));
  await b;

  first.socket.terminate();
  const second = await server.connection(1);
  const { request: refused } = await second.nextOf('subscribe');
  t.deepEqual(refused.topics, ['tick.A.*']);
  second.send({ type: 'error', id: refused.id, code: 'RATE_LIMITED', message: 'slow down' });
  const { request: retried } = await second.nextOf('subscribe');
  t.deepEqual(retried.topics, ['tick.A.*'], 'the same resubscription, again');
  t.not(retried.id, refused.id);
  second.send({ type: 'subscribed', id: retried.id, topics: retried.topics });
  const { request: forbidden } = await second.nextOf('subscribe');
  t.deepEqual(forbidden.topics, ['tick.B.*']);
  second.send({ type: 'error', id: forbidden.id, code: 'FORBIDDEN', message: 'not for you' });
  await sync(client, second);
  t.deepEqual(errors.map((err) => err.code), ['RATE_LIMITED', 'FORBIDDEN']);
  t.deepEqual(client.subscriptions(), ['tick.A.*']);
  t.deepEqual([...client.entries()].map(([topic]) => topic), ['tick.A.1'], 'the state of the dropped subscription is gone');
});

test('a connection silent past the idle timeout is replaced', async (t) => {
  const server = await fake(t, { heartbeatMs: 100 });
  const client = await open(t, server, { idleTimeoutMs: 300 });
  const dropped = await nextState(client, (change) => change.state === 'reconnecting');
  t.regex(dropped.reason!, /no frame for 300 ms/);
  await nextState(client, (change) => change.state === 'live');
  t.is(server.connections.length, 2);
});

test('no welcome within connectTimeoutMs: the attempt fails (and the first one rejects connect)', async (t) => {
  const server = await fake(t, { welcome: false });
  const err = await t.throwsAsync(connect(server.url, { ...FAST, connectTimeoutMs: 200 }), { instanceOf: TickfanError });
  t.is(err!.code, 'CONNECTION');
  t.regex(err!.message, /no welcome within 200 ms/);
});

test('close code 4003 ends the client: closed with FORBIDDEN, pending requests and iterators reject', async (t) => {
  const server = await fake(t);
  const client = await open(t, server);
  const conn = await server.connection(0);
  const iterator = client.updates();
  const nextUpdate = iterator.next();
  const pinging = client.ping();
  await conn.nextOf('ping');
  const closed = nextState(client, (change) => change.state === 'closed');
  conn.socket.close(4003, 'forbidden');
  const change = await closed;
  t.is(change.code, 4003);
  t.is(change.error?.code, 'FORBIDDEN');
  t.is((await t.throwsAsync(pinging, { instanceOf: TickfanError }))!.code, 'FORBIDDEN');
  t.is((await t.throwsAsync(nextUpdate, { instanceOf: TickfanError }))!.code, 'FORBIDDEN');
  t.is(server.connections.length, 1, 'no reconnect');
});

test('the first connection failing rejects connect(); with waitOnFirstConnect it keeps trying with growing delays', async (t) => {
  const port = await freePort();
  const url = `ws://127.0.0.1:${port}`;
  const err = await t.throwsAsync(connect(url, FAST), { instanceOf: TickfanError });
  t.is(err!.code, 'CONNECTION');

  const client = new TickfanClient(url, { ...FAST, waitOnFirstConnect: true });
  t.teardown(() => client.close());
  const changes: StateChange[] = [];
  client.on('state', (change) => changes.push(change));
  await nextState(client, (change) => change.state === 'reconnecting' && change.attempt === 4);
  const server = await fake(t, { port });
  await client.ready;
  t.is(client.state, 'live');
  const attempts = changes.filter((change) => change.state === 'reconnecting').map((change) => change.attempt);
  t.deepEqual(attempts.slice(0, 3), [2, 3, 4], 'the first attempt was #1; each failure schedules the next');
  // The k-th delay of the outage is drawn from [b/2, b], b = min * 2^(k-1) up to max.
  changes.filter((change) => change.state === 'reconnecting').forEach(({ delayMs }, k) => {
    const base = Math.min(FAST.maxReconnectDelayMs, FAST.minReconnectDelayMs * 2 ** k);
    t.true(delayMs! >= base / 2 && delayMs! <= base, `delay ${k + 1}: ${delayMs} ms within [${base / 2}, ${base}]`);
  });
  t.is(server.connections.length, 1);
});

test('connections dropped right after the welcome keep the backoff growing; one that stays live resets it', async (t) => {
  const server = await fake(t, { dropAfterWelcome: true });
  const client = new TickfanClient(server.url, { ...FAST, stableConnectionMs: 60_000 });
  t.teardown(() => client.close());
  const changes: StateChange[] = [];
  client.on('state', (change) => changes.push(change));
  await nextState(client, (change) => change.state === 'reconnecting' && server.connections.length >= 5);
  const reconnecting = changes.filter((change) => change.state === 'reconnecting');
  t.true(reconnecting.every((change) => change.attempt === 1 && change.code === 1011), 'each was a first attempt after a live connection');
  reconnecting.slice(0, 5).forEach(({ delayMs }, k) => {
    const base = Math.min(FAST.maxReconnectDelayMs, FAST.minReconnectDelayMs * 2 ** k);
    t.true(delayMs! >= base / 2 && delayMs! <= base, `delay ${k + 1}: ${delayMs} ms within [${base / 2}, ${base}]`);
  });

  const stable = new TickfanClient(server.url, { ...FAST, stableConnectionMs: 0 });
  t.teardown(() => stable.close());
  const delays: number[] = [];
  stable.on('state', (change) => change.state === 'reconnecting' && delays.push(change.delayMs!));
  await nextState(stable, () => delays.length >= 4);
  t.true(delays.every((delay) => delay <= FAST.minReconnectDelayMs), `with stableConnectionMs 0 every delay is a first one: ${delays.join(', ')}`);
});

test('an unanswered request times out with TIMEOUT; a subscribe never sent by then is never sent, one answered late still counts', async (t) => {
  const server = await fake(t);
  const client = await open(t, server, { requestTimeoutMs: 200 });
  const conn = await server.connection(0);
  const ping = client.ping();
  const first = client.subscribe('tick.A.*');
  const second = client.subscribe('tick.B.*');
  t.is((await t.throwsAsync(ping, { instanceOf: TickfanError }))!.code, 'TIMEOUT');
  t.is((await t.throwsAsync(first, { instanceOf: TickfanError }))!.code, 'TIMEOUT');
  t.is((await t.throwsAsync(second, { instanceOf: TickfanError }))!.code, 'TIMEOUT');
  const { request } = await conn.nextOf('subscribe');
  conn.send({ type: 'subscribed', id: request.id, topics: request.topics }, record('snapshot', 'tick.A.1', 1, 1));
  const pinging = client.ping();
  const { request: ping2, skipped } = await conn.nextOf('ping');
  conn.send({ type: 'pong', id: ping2.id });
  await pinging;
  t.deepEqual(skipped, [], 'the second subscribe was never sent');
  t.deepEqual(client.subscriptions(), ['tick.A.*']);
  t.truthy(client.get('tick.A.1'));
});

test('close() ends everything and leaves no timer behind: a Node process using the published package exits by itself', async (t) => {
  const fixture = fileURLToPath(new URL('./fixtures/close-exits.mjs', import.meta.url));
  const child = spawn(process.execPath, [fixture], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const started = performance.now();
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, 10_000);
    child.on('close', (exit) => {
      clearTimeout(timer);
      resolve(exit);
    });
  });
  t.is(code, 0, `the process ended by itself (stdout: ${stdout}; stderr: ${stderr})`);
  const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as { scenarios: string[]; active: string[] };
  t.deepEqual(report.scenarios, ['closed while live', 'closed while reconnecting', 'closed while connecting', 'closed with requests pending']);
  t.deepEqual(report.active.filter((resource) => resource === 'Timeout'), [], 'no timer active after close()');
  t.log(`exited ${(performance.now() - started).toFixed(0)} ms after start`);
});

test("a subscribe refused for now (UNAVAILABLE) is sent again and resolves; a resubscription refused with BAD_REQUEST is not retried but given up and reported", async (t) => {
  const server = await fake(t);
  const client = await open(t, server);
  const first = await server.connection(0);
  const errors: TickfanError[] = [];
  client.on('error', (err) => errors.push(err));
  const subscribing = client.subscribe('tick.A.*');
  const { request: refused } = await first.nextOf('subscribe');
  first.send({ type: 'error', id: refused.id, code: 'UNAVAILABLE', message: 'state unavailable: no snapshot service answered' });
  const { request: retried } = await first.nextOf('subscribe');
  t.deepEqual(retried.topics, ['tick.A.*'], 'the same subscribe, again');
  first.send({ type: 'subscribed', id: retried.id, topics: retried.topics }, record('snapshot', 'tick.A.1', 1, 1));
  t.deepEqual(await subscribing, ['tick.A.*']);
  t.deepEqual(errors, [], "a caller's retry is not an error event");

  first.socket.terminate();
  const second = await server.connection(1);
  const { request: resubscribe } = await second.nextOf('subscribe');
  second.send({ type: 'error', id: resubscribe.id, code: 'BAD_REQUEST', message: 'no' });
  await sync(client, second);
  t.deepEqual(errors.map((err) => err.code), ['BAD_REQUEST']);
  t.deepEqual(client.subscriptions(), [], 'given up');
  t.is(client.size, 0);
  t.deepEqual(second.requests.filter((r) => r.op === 'subscribe').length, 1, 'not sent again');
});

test('an updates() reader that falls maxPendingUpdates behind is ended with SLOW_READER; the state stays current and other readers go on', async (t) => {
  const server = await fake(t);
  const client = await open(t, server, { maxPendingUpdates: 5 });
  const conn = await server.connection(0);
  const stuck = client.updates();
  const reading = client.updates(['tick.A.1']);
  const subscribing = client.subscribe('tick.A.*');
  await answerSubscribe(conn, ...Array.from({ length: 5 }, (_, i) => record('tick', 'tick.A.1', 1, i + 1)));
  await subscribing;
  t.deepEqual((await Promise.all(Array.from({ length: 5 }, () => reading.next()))).map((r) => (r.value as Update).seq), [1, 2, 3, 4, 5]);
  conn.send(record('tick', 'tick.A.1', 1, 6), record('tick', 'tick.A.2', 1, 1));
  await sync(client, conn);
  const err = await t.throwsAsync(stuck.next(), { instanceOf: TickfanError });
  t.is(err!.code, 'SLOW_READER');
  t.like(client.get('tick.A.1'), { seq: 6 });
  t.like(client.get('tick.A.2'), { seq: 1 });
  t.like((await reading.next()).value, { topic: 'tick.A.1', seq: 6 }, 'the reader that keeps up is not affected');
  t.is(client.state, 'live');
});

test('a close with 1012 (the server is draining) reconnects after a delay drawn over the whole backoff (full jitter); other codes keep the configured jitter', async (t) => {
  const server = await fake(t);
  const client = await open(t, server, { minReconnectDelayMs: 400, maxReconnectDelayMs: 400, reconnectJitter: 0.5, stableConnectionMs: 0, random: () => 0.75 });
  const draining = nextState(client, (change) => change.state === 'reconnecting');
  (await server.connection(0)).socket.close(1012, 'service restart');
  t.like(await draining, { code: 1012, delayMs: 100 }, '400 * (1 - 1 * 0.75)');
  const going = nextState(client, (change) => change.state === 'reconnecting');
  (await server.connection(1)).socket.close(1001, 'going away');
  t.like(await going, { code: 1001, delayMs: 250 }, '400 * (1 - 0.5 * 0.75)');
});

test('maxPendingUpdates and maxRequestRetries out of range are refused, naming the option', (t) => {
  t.throws(() => new TickfanClient('ws://127.0.0.1:1/v1/ws', { maxPendingUpdates: 0, reconnect: false }), { instanceOf: RangeError, message: /maxPendingUpdates must be an integer >= 1, not 0/ });
  t.throws(() => new TickfanClient('ws://127.0.0.1:1/v1/ws', { maxRequestRetries: -1, reconnect: false }), { instanceOf: RangeError, message: /maxRequestRetries must be an integer >= 0, not -1/ });
});
