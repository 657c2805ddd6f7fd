import test from 'ava';
import { SlicedReplies, type Answer } from '../../src/snapshot/sliced-replies.js';
import type { Frames } from '../../src/wire/index.js';

/** A request as these tests make them: `ping` answers at once, `big` names topics to build in slices. */
type Request = { readonly kind: 'ping' } | { readonly kind: 'big'; readonly topics: readonly string[] };

interface Sent {
  readonly peer: string;
  readonly frames: string[];
}

/** A SlicedReplies of `recordsPerSlice`, recording what it sends and how many records each event-loop turn read. */
function harness(recordsPerSlice: number, waitingLimit = 100, bytesPerSlice = Infinity) {
  const sent: Sent[] = [];
  const failures: string[] = [];
  const readsPerTurn: number[] = [0];
  const replies = new SlicedReplies<Request>({ recordsPerSlice, waitingLimit, bytesPerSlice }, {
    answer: (request): Answer => (request.kind === 'ping' ? [Buffer.from('PONG')] : { topics: request.topics }),
    record: (topic): Frames | undefined => {
      if (topic === BROKEN) throw new Error(`no record of ${topic}`);
      if (topic === UNSERVABLE) return undefined;
      readsPerTurn[readsPerTurn.length - 1]!++;
      return [Buffer.from(topic), Buffer.alloc(24), Buffer.from(`{"of":"${topic}"}`)];
    },
    send: (envelope, body) => sent.push({ peer: envelope[0]!.toString(), frames: body.map((f) => f.toString('latin1')) }),
    failed: (err) => failures.push(err.message),
  });
  const submit = (peer: string, request: Request): void => replies.submit(peer, [Buffer.from(peer), Buffer.alloc(0)], request, performance.now());
  /** Lets one event-loop turn pass (a slice runs per turn), starting a new count of reads. */
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(() => { readsPerTurn.push(0); resolve(); }));
  return { replies, sent, failures, readsPerTurn, submit, turn };
}

/** A topic whose record cannot be read: a bug in the hooks, as the slices meet it. */
const BROKEN = 'tick.X.BROKEN';

/** A topic whose state cannot be served when its turn comes (a book turned incomplete after the reply was answered). */
const UNSERVABLE = 'book.X.INCOMPLETE';

const topics = (n: number): string[] => Array.from({ length: n }, (_, i) => `tick.SIM.T${i}`);
const PING: Request = { kind: 'ping' };

test('a reply of many records is built recordsPerSlice records per event-loop turn and sent whole, in order, flagged', async (t) => {
  const h = harness(3);
  h.submit('a', { kind: 'big', topics: topics(7) });
  t.is(h.sent.length, 0, 'nothing is built in the turn the request came');
  while (h.sent.length === 0) await h.turn();
  t.true(h.readsPerTurn.every((reads) => reads <= 3), `reads per turn ${JSON.stringify(h.readsPerTurn)}`);
  const [reply] = h.sent;
  t.deepEqual(reply!.frames.slice(0, 2), ['OK', '7']);
  t.deepEqual(reply!.frames.filter((_, i) => i >= 2 && (i - 2) % 3 === 0), topics(7));
  t.true(h.sent[0]!.frames.filter((_, i) => i >= 2 && (i - 2) % 3 === 1).every((header) => (header.charCodeAt(1) & 1) === 1), 'every header flagged');
});

test('another peer\'s request is answered while a large reply is being built, not after it', async (t) => {
  const h = harness(2);
  h.submit('big', { kind: 'big', topics: topics(10) });
  await h.turn();
  h.submit('pinger', PING);
  t.deepEqual(h.sent.map((s) => s.peer), ['pinger'], 'answered at once');
  while (h.sent.length < 2) await h.turn();
  t.deepEqual(h.sent.map((s) => s.peer), ['pinger', 'big']);
});

test('one peer\'s replies keep the order of its requests: a PING pipelined behind its large SNAPSHOT comes after it', async (t) => {
  const h = harness(2);
  h.submit('dealer', { kind: 'big', topics: topics(5) });
  h.submit('dealer', PING);
  h.submit('dealer', { kind: 'big', topics: topics(3) });
  h.submit('dealer', PING);
  t.is(h.replies.backlog, 4);
  while (h.sent.length < 4) await h.turn();
  t.deepEqual(h.sent.map((s) => s.frames.slice(0, 2).join(' ')), ['OK 5', 'PONG', 'OK 3', 'PONG']);
  t.is(h.replies.backlog, 0);
});

test('large replies of several peers are built one at a time, in arrival order, so one partial reply is held at most', async (t) => {
  const h = harness(4);
  h.submit('a', { kind: 'big', topics: topics(8) });
  h.submit('b', { kind: 'big', topics: topics(6) });
  h.submit('c', PING);
  t.deepEqual(h.sent.map((s) => s.peer), ['c']);
  while (h.sent.length < 3) await h.turn();
  t.deepEqual(h.sent.map((s) => `${s.peer} ${s.frames.slice(0, 2).join(' ')}`), ['c PONG', 'a OK 8', 'b OK 6']);
});

test('beyond waitingLimit a request that would wait is dropped and counted, and the others are still answered', async (t) => {
  const h = harness(2, 2);
  h.submit('a', { kind: 'big', topics: topics(4) });
  h.submit('a', PING);
  h.submit('b', { kind: 'big', topics: topics(4) });
  h.submit('a', PING);
  t.is(h.replies.dropped, 1);
  while (h.sent.length < 3) await h.turn();
  t.deepEqual(h.sent.map((s) => `${s.peer} ${s.frames[0]}`), ['a OK', 'a PONG', 'b OK']);
});

test('finish() answers everything taken at once, replies built whole: what a stopping service sends before its socket closes', (t) => {
  const h = harness(2);
  h.submit('a', { kind: 'big', topics: topics(7) });
  h.submit('a', PING);
  h.submit('b', { kind: 'big', topics: topics(5) });
  t.deepEqual(h.sent, []);
  h.replies.finish();
  t.deepEqual(h.sent.map((s) => `${s.peer} ${s.frames.slice(0, 2).join(' ')}`), ['a OK 7', 'a PONG', 'b OK 5']);
  t.is(h.replies.backlog, 0);
});

test('a record that cannot be read drops that reply only, counted and reported; the requests behind it are answered', async (t) => {
  const h = harness(2);
  h.submit('a', { kind: 'big', topics: [...topics(3), BROKEN] });
  h.submit('a', PING);
  h.submit('b', { kind: 'big', topics: topics(3) });
  while (h.sent.length < 2) await h.turn();
  t.deepEqual(h.sent.map((s) => `${s.peer} ${s.frames.slice(0, 2).join(' ')}`), ['a PONG', 'b OK 3']);
  t.deepEqual(h.failures, [`no record of ${BROKEN}`]);
  t.is(h.replies.dropped, 1);
  t.is(h.replies.backlog, 0);
});

test('a topic without a record when its turn comes is left out, and the count says how many records the reply carries', async (t) => {
  const h = harness(2);
  h.submit('a', { kind: 'big', topics: [...topics(2), UNSERVABLE, ...topics(5).slice(2)] });
  while (h.sent.length === 0) await h.turn();
  const [reply] = h.sent;
  t.deepEqual(reply!.frames.slice(0, 2), ['OK', '5']);
  t.is(reply!.frames.length, 2 + 3 * 5);
  t.deepEqual(reply!.frames.filter((_, i) => i >= 2 && (i - 2) % 3 === 0), topics(5));
  t.deepEqual(h.failures, []);
});

test('a slice ends early once its records hold bytesPerSlice of payload: large records (books) are built fewer per turn', async (t) => {
  const h = harness(100, 100, 40);
  h.submit('a', { kind: 'big', topics: topics(10) });
  while (h.sent.length === 0) await h.turn();
  // Each record's payload is 20-21 bytes: a slice takes 2 records, the second crossing the budget.
  t.true(h.readsPerTurn.every((reads) => reads <= 2), `reads per turn ${JSON.stringify(h.readsPerTurn)}`);
  t.deepEqual(h.sent[0]!.frames.slice(0, 2), ['OK', '10']);
  h.submit('b', { kind: 'big', topics: topics(10) });
  h.replies.finish();
  t.deepEqual(h.sent.map((s) => `${s.peer} ${s.frames.slice(0, 2).join(' ')}`), ['a OK 10', 'b OK 10'], 'finish() builds whole, whatever the budget');
});
