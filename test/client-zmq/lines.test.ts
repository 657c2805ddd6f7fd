/**
 * LineSet over real sockets: two XPUBs stand in for the A and B proxy backends and send the
 * same messages; each comes out once, and a copy that breaks the contract is counted once
 * (its payload is parsed only for the copy that goes on) and skipped.
 */
import test from 'ava';
import { XPublisher } from 'zeromq';
import { LineSet } from '../../src/client/zmq/index.js';
import { encodeMessage, encodeTickRecord, nowMicros, type DecodedMessage } from '../../src/wire/index.js';
import { pollUntil } from '../helpers/poll.js';
import { ipcDir, withTimeout } from '../helpers/tickfan-process.js';

const TOPIC = 'tick.X.A';

test('two lines carrying the same messages: each comes out once, in order; a bad payload is counted once and skipped', async (t) => {
  const dir = ipcDir();
  const endpoints = [dir.endpoint('a'), dir.endpoint('b')];
  const backends = endpoints.map(() => new XPublisher({ linger: 0 }));
  await Promise.all(backends.map((socket, i) => socket.bind(endpoints[i]!)));
  const lines = new LineSet({ endpoints, prefixes: ['tick.'] });
  t.teardown(() => {
    lines.close();
    backends.forEach((socket) => socket.close());
    dir.cleanup();
  });
  // Each backend sees the line's subscription: from then on nothing it sends is lost.
  await withTimeout(Promise.all(backends.map((socket) => socket.receive())), 5000, 'both lines to subscribe');

  const epoch = 7;
  const frames = (seq: number, payload: Buffer) => encodeMessage(TOPIC, { flags: 0, epoch, seq, ts: nowMicros() }, payload);
  const good = (seq: number) => frames(seq, encodeTickRecord({ venue: 'X', symbol: 'A', bid: seq, ask: seq + 1 }));
  const sent = [good(1), good(2), frames(3, Buffer.from('{"not":"a tick"')), good(4), good(5)];
  for (const message of sent) for (const socket of backends) await socket.send([...message]);

  const out: DecodedMessage[] = [];
  const reading = (async () => {
    for await (const message of lines) {
      out.push(message);
      if (message.header.seq === 5) return;
    }
  })();
  await withTimeout(reading, 5000, 'seq 5 to come out');
  t.deepEqual(out.map((m) => m.header.seq), [1, 2, 4, 5], 'each once, the bad one skipped (its gap left for the subscriber to repair)');
  t.deepEqual([...lines.rejected], [['json', 1]], 'the bad copy counted once, not once per line');
  // The other line's copies may still be on their way when seq 5 comes out.
  const duplicates = () => lines.lines().reduce((sum, line) => sum + line.duplicates, 0);
  await pollUntil(async () => duplicates() >= 5, 'every second copy to arrive', 5000, 10);
  t.is(duplicates(), 5, 'every second copy dropped');
});
