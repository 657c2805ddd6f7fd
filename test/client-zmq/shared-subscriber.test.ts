/**
 * Streams of one process that read the same backend share one SUB socket (SharedSubscriber),
 * over a real XPUB: each stream gets exactly the topics of its own prefixes, a message two
 * streams want is received and parsed once, one stream's reader that stopped reading loses
 * only its own messages (counted as overruns) while the other keeps reading, and the socket
 * closes with its last stream.
 */
import test from 'ava';
import { XPublisher } from 'zeromq';
import { TickStream } from '../../src/client/zmq/index.js';
import { encodeMessage, encodeTickRecord, nowMicros } from '../../src/wire/index.js';
import { collect } from '../helpers/streams.js';
import { ipcDir, withTimeout } from '../helpers/tickfan-process.js';

/** A valid tick of `tick.X.<symbol>`. */
function tick(topic: string, seq: number): Buffer[] {
  const symbol = topic.split('.')[2]!;
  return [...encodeMessage(topic, { flags: 0, epoch: 1, seq, ts: nowMicros() }, encodeTickRecord({ venue: 'X', symbol, bid: seq, ask: seq + 1 }))];
}

/** The subscription messages the backend sees (XPUB: 1 = subscribe, 0 = unsubscribe, then the prefix) until `until` says enough. */
async function subscriptions(backend: XPublisher, until: (seen: string[]) => boolean): Promise<string[]> {
  const seen: string[] = [];
  while (!until(seen)) {
    const [frame] = await withTimeout(backend.receive(), 5000, `subscriptions after ${JSON.stringify(seen)}`);
    seen.push(`${frame![0] === 1 ? '+' : '-'}${frame!.subarray(1).toString()}`);
  }
  return seen;
}

test('two streams on one backend share its socket: each gets its own prefixes, a message both want is parsed once', async (t) => {
  const dir = ipcDir();
  const endpoint = dir.endpoint('backend');
  const backend = new XPublisher({ linger: 0 });
  await backend.bind(endpoint);
  const everything = new TickStream({ endpoint, prefixes: ['tick.'] });
  const onlyB = new TickStream({ endpoint, prefixes: ['tick.X.B'] });
  t.teardown(() => {
    everything.close();
    onlyB.close();
    backend.close();
    dir.cleanup();
  });
  // One socket: libzmq's XPUB reports each prefix once per connection, and there is one connection.
  t.deepEqual((await subscriptions(backend, (seen) => seen.length === 2)).sort(), ['+tick.', '+tick.X.B']);

  for (let seq = 1; seq <= 3; seq++) {
    await backend.send(tick('tick.X.A', seq));
    await backend.send(tick('tick.X.B', seq));
  }
  const [all, bs] = await Promise.all([collect(everything, 6), collect(onlyB, 3)]);
  t.deepEqual(all.map((m) => `${m.topic}#${m.header.seq}`), ['tick.X.A#1', 'tick.X.B#1', 'tick.X.A#2', 'tick.X.B#2', 'tick.X.A#3', 'tick.X.B#3']);
  t.deepEqual(bs.map((m) => `${m.topic}#${m.header.seq}`), ['tick.X.B#1', 'tick.X.B#2', 'tick.X.B#3']);
  // The same decoded object reached both: parsed once for the two of them.
  const bothGot = all.filter((m) => m.topic === 'tick.X.B');
  t.true(bothGot.every((message, i) => message === bs[i]));

  // Closing one stream takes back only its own prefix; the other stream goes on.
  onlyB.close();
  t.deepEqual(await subscriptions(backend, (seen) => seen.length === 1), ['-tick.X.B']);
  await backend.send(tick('tick.X.B', 4));
  t.is((await collect(everything, 1))[0]!.header.seq, 4);
});

test("a stream whose reader stopped loses only its own messages past receiveHwm, counted as overruns; the other stream's reader gets every one", async (t) => {
  const dir = ipcDir();
  const endpoint = dir.endpoint('backend');
  const backend = new XPublisher({ linger: 0 });
  await backend.bind(endpoint);
  const reader = new TickStream({ endpoint, prefixes: [''], receiveHwm: 50 });
  const stalled = new TickStream({ endpoint, prefixes: [''], receiveHwm: 50 });
  t.teardown(() => {
    reader.close();
    stalled.close();
    backend.close();
    dir.cleanup();
  });
  await subscriptions(backend, (seen) => seen.length === 1);

  const total = 40;
  const receiving = collect(reader, total * 3);
  // Three batches: the reader keeps up with each, the stalled stream (never read) fills its queue of 50.
  for (let batch = 0; batch < 3; batch++) for (let i = 1; i <= total; i++) await backend.send(tick('tick.X.A', batch * total + i));
  const got = await receiving;
  t.deepEqual(got.map((m) => m.header.seq), Array.from({ length: total * 3 }, (_, i) => i + 1));
  t.is(stalled.overruns, total * 3 - 50);
  t.is(reader.overruns, 0);
  // What the stalled stream holds is the first 50, in order: it repairs the rest as a gap.
  t.deepEqual((await collect(stalled, 50)).map((m) => m.header.seq), Array.from({ length: 50 }, (_, i) => i + 1));
});

test('the last stream to close closes the socket; a stream opened later connects afresh', async (t) => {
  const dir = ipcDir();
  const endpoint = dir.endpoint('backend');
  const backend = new XPublisher({ linger: 0 });
  await backend.bind(endpoint);
  t.teardown(() => {
    backend.close();
    dir.cleanup();
  });
  const first = new TickStream({ endpoint, prefixes: ['tick.'] });
  await subscriptions(backend, (seen) => seen.length === 1);
  first.close();
  // The connection went with the socket: XPUB reports the prefix gone as the peer leaves.
  t.deepEqual(await subscriptions(backend, (seen) => seen.length === 1), ['-tick.']);
  const second = new TickStream({ endpoint, prefixes: ['tick.'] });
  t.teardown(() => second.close());
  t.deepEqual(await subscriptions(backend, (seen) => seen.length === 1), ['+tick.']);
  await backend.send(tick('tick.X.A', 1));
  t.is((await collect(second, 1))[0]!.topic, 'tick.X.A');
});
