/**
 * A/B line arbitration (PROTOCOL.md section 3): copies from two lines, one lagging or losing
 * messages, come out once and in order per topic; a hole one line had is filled by the other
 * within the window, and one both had goes on as a gap once the window is over.
 */
import test from 'ava';
import fc from 'fast-check';
import { Arbiter } from '../../src/client/zmq/arbiter.js';
import type { DecodedMessage } from '../../src/wire/index.js';
import { message } from '../snapshot/_helpers.js';

const A = 'tick.X.A';
const B = 'tick.X.B';

function arbiter(windowMs: number): { arbiter: Arbiter<DecodedMessage>; out: DecodedMessage[]; seqs: (topic?: string) => number[] } {
  const out: DecodedMessage[] = [];
  const made = new Arbiter<DecodedMessage>(2, windowMs, (m) => void out.push(m));
  return { arbiter: made, out, seqs: (topic = A) => out.filter((m) => m.topic === topic).map((m) => m.header.seq) };
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('the first copy of each message goes on, later copies are dropped and counted per line', (t) => {
  const { arbiter: lines, seqs } = arbiter(50);
  for (let seq = 1; seq <= 5; seq++) lines.accept(message(A, 7, seq), 0);
  for (let seq = 1; seq <= 5; seq++) lines.accept(message(A, 7, seq), 1);
  t.deepEqual(seqs(), [1, 2, 3, 4, 5]);
  t.deepEqual(lines.counts.duplicates, [0, 5]);
  t.is(lines.holding, 0);
});

test('a message lost on the leading line is taken from the other: no gap, order kept, what came after it waits', (t) => {
  const { arbiter: lines, seqs } = arbiter(1000);
  for (const seq of [1, 2, 4, 5]) lines.accept(message(A, 7, seq), 0);
  t.deepEqual(seqs(), [1, 2], 'held after the hole');
  t.is(lines.holding, 1);
  for (const seq of [1, 2, 3]) lines.accept(message(A, 7, seq), 1);
  t.deepEqual(seqs(), [1, 2, 3, 4, 5]);
  t.is(lines.counts.holesFilled, 1);
  t.is(lines.counts.holesExpired, 0);
  for (const seq of [4, 5]) lines.accept(message(A, 7, seq), 1);
  t.deepEqual(lines.counts.duplicates, [0, 4]);
  t.is(lines.holding, 0);
});

test('a hole only one topic has holds back that topic alone', (t) => {
  const { arbiter: lines, seqs } = arbiter(1000);
  lines.accept(message(A, 7, 1), 0);
  lines.accept(message(A, 7, 3), 0);
  for (let seq = 1; seq <= 3; seq++) lines.accept(message(B, 7, seq), 0);
  t.deepEqual(seqs(A), [1]);
  t.deepEqual(seqs(B), [1, 2, 3]);
});

test('a hole no line fills goes on as a gap once the window is over, in seq order', async (t) => {
  const { arbiter: lines, seqs } = arbiter(30);
  for (const seq of [1, 2, 5, 4]) lines.accept(message(A, 7, seq), 0);
  lines.accept(message(A, 7, 4), 1);
  t.deepEqual(seqs(), [1, 2]);
  await delay(80);
  t.deepEqual(seqs(), [1, 2, 4, 5], 'seq 3 is left for the subscriber to repair');
  t.is(lines.counts.holesExpired, 1);
  t.deepEqual(lines.counts.duplicates, [0, 1]);
  lines.accept(message(A, 7, 3), 1);
  t.deepEqual(seqs(), [1, 2, 4, 5], 'a copy arriving after the window is older than what went on');
});

test('a new run of the source lets what the old run held go first', (t) => {
  const { arbiter: lines, out } = arbiter(1000);
  lines.accept(message(A, 7, 1), 0);
  lines.accept(message(A, 7, 3), 0);
  lines.accept(message(A, 8, 1), 0);
  t.deepEqual(out.map((m) => [m.header.epoch, m.header.seq]), [[7, 1], [7, 3], [8, 1]]);
  t.is(lines.holding, 0);
});

test('a new run whose first message came without seq 1 waits for the other line to bring the start of the run', (t) => {
  const { arbiter: lines, out } = arbiter(1000);
  lines.accept(message(A, 7, 9), 0);
  lines.accept(message(A, 8, 2), 0);
  t.is(out.length, 1);
  lines.accept(message(A, 8, 1), 1);
  t.deepEqual(out.map((m) => [m.header.epoch, m.header.seq]), [[7, 9], [8, 1], [8, 2]]);
  t.is(lines.counts.holesFilled, 1);
});

test('with a window of 0 a jump goes on at once', (t) => {
  const { arbiter: lines, seqs } = arbiter(0);
  for (const seq of [1, 3]) lines.accept(message(A, 7, seq), 0);
  t.deepEqual(seqs(), [1, 3]);
});

test('releaseAll lets everything held go on', (t) => {
  const { arbiter: lines, seqs } = arbiter(60_000);
  for (const seq of [1, 3, 4]) lines.accept(message(A, 7, seq), 0);
  lines.releaseAll();
  t.deepEqual(seqs(), [1, 3, 4]);
});

test('property: any interleaving of two lines that together carry every seq gives each seq exactly once, in order', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 60 }).chain((n) =>
        fc.record({
          n: fc.constant(n),
          // Which line carries each seq: 0 (A only), 1 (B only) or 2 (both).
          carriers: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: n, maxLength: n }),
          // The order in which the two lines' copies arrive: true takes A's next copy, false B's.
          picks: fc.array(fc.boolean(), { minLength: 2 * n, maxLength: 2 * n }),
        })),
      ({ n, carriers, picks }) => {
        const { arbiter: lines, seqs } = arbiter(60_000);
        const queues = [0, 1].map((line) => carriers.flatMap((c, i) => (c === line || c === 2 ? [i + 1] : [])));
        let pick = 0;
        let first: number | undefined;
        let accepted = 0;
        while (queues[0]!.length + queues[1]!.length > 0) {
          const preferA = picks[pick++ % picks.length]!;
          const line = queues[preferA ? 0 : 1]!.length > 0 ? (preferA ? 0 : 1) : preferA ? 1 : 0;
          const seq = queues[line]!.shift()!;
          first ??= seq;
          accepted++;
          lines.accept(message(A, 7, seq), line);
        }
        // Nothing is known of a topic before its first message (the subscriber's snapshot covers that): it starts there.
        t.deepEqual(seqs(), Array.from({ length: n - first! + 1 }, (_, i) => first! + i));
        t.is(lines.holding, 0);
        t.is(lines.counts.duplicates[0]! + lines.counts.duplicates[1]!, accepted - seqs().length);
      },
    ),
    { numRuns: 300 },
  );
});
