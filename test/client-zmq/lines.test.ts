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

/** Reads until seq 5 comes out, through the async iterator or with a synchronous forEach handler. */
type Reader = (lines: LineSet, out: DecodedMessage[]) => Promise<void>;
const READERS: Record<string, Reader> = {
  'for await': async (lines, out) => {
    for await (const message of lines) {
      out.push(message);
      if (message.header.seq === 5) return;
    }
  },
  forEach: (lines, out) => new Promise((resolve, reject) => {
    lines.forEach((message) => {
      out.push(message);
      if (message.header.seq === 5) resolve();
    }).catch(reject);
  }),
};

for (const [mode, read] of Object.entries(READERS)) test(`${mode}: two lines carrying the same messages: each comes out once, in order; a bad payload is counted once and skipped`, async (t) => {
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
  await withTimeout(read(lines, out), 5000, 'seq 5 to come out');
  t.deepEqual(out.map((m) => m.header.seq), [1, 2, 4, 5], 'each once, the bad one skipped (its gap left for the subscriber to repair)');
  t.deepEqual([...lines.rejected], [['json', 1]], 'the bad copy counted once, not once per line');
  // The other line's copies may still be on their way when seq 5 comes out.
  const duplicates = () => lines.lines().reduce((sum, line) => sum + line.duplicates, 0);
  await pollUntil(async () => duplicates() >= 5, 'every second copy to arrive', 5000, 10);
  t.is(duplicates(), 5, 'every second copy dropped');
});

test('forEach on one line: every valid message in order, a bad one counted and skipped; close ends it', async (t) => {
  const dir = ipcDir();
  const endpoint = dir.endpoint('a');
  const backend = new XPublisher({ linger: 0 });
  await backend.bind(endpoint);
  const lines = new LineSet({ endpoints: [endpoint], prefixes: ['tick.'] });
  t.teardown(() => {
    lines.close();
    backend.close();
    dir.cleanup();
  });
  const seqs: number[] = [];
  let sawSeq3!: () => void;
  const third = new Promise<void>((resolve) => (sawSeq3 = resolve));
  const reading = lines.forEach((message) => {
    seqs.push(message.header.seq);
    if (message.header.seq === 3) sawSeq3();
  });
  await withTimeout(backend.receive(), 5000, 'the line to subscribe');
  const header = (seq: number) => ({ flags: 0, epoch: 1, seq, ts: nowMicros() });
  await backend.send([...encodeMessage(TOPIC, header(1), encodeTickRecord({ venue: 'X', symbol: 'A', bid: 1 }))]);
  await backend.send([...encodeMessage(TOPIC, header(2), Buffer.from('[]'))]);
  await backend.send([...encodeMessage(TOPIC, header(3), encodeTickRecord({ venue: 'X', symbol: 'A', bid: 3 }))]);
  await withTimeout(third, 5000, 'seq 3');
  t.deepEqual(seqs, [1, 3]);
  t.is([...lines.rejected.values()].reduce((sum, n) => sum + n, 0), 1);
  t.throws(() => lines[Symbol.asyncIterator](), { message: 'a line set has one reader' });
  lines.close();
  await withTimeout(reading, 5000, 'forEach to end with close');
});
