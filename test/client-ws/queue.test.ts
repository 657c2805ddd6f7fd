import test from 'ava';
import { BoundedQueue } from '../../src/client/queue.js';

/** The bounded queue both SDKs hand their readers, under each policy for a reader that falls behind. */

async function read<T>(queue: BoundedQueue<T>, n: number): Promise<T[]> {
  const values: T[] = [];
  for (let i = 0; i < n; i++) {
    const result = await queue.next();
    if (result.done) break;
    values.push(result.value);
  }
  return values;
}

test('values come out in order; a reader already waiting gets the next value at once', async (t) => {
  const queue = new BoundedQueue<number>({ limit: 10, whenFull: 'fail' });
  const waiting = queue.next();
  queue.push(1);
  t.deepEqual(await waiting, { value: 1, done: false });
  for (let i = 2; i <= 5; i++) queue.push(i);
  t.is(queue.pending, 4);
  t.deepEqual(await read(queue, 4), [2, 3, 4, 5]);
});

test("'wait': push answers with a promise once the reader is limit behind, resolved when the reader makes room", async (t) => {
  const queue = new BoundedQueue<number>({ limit: 3, whenFull: 'wait' });
  t.is(queue.push(1), undefined);
  t.is(queue.push(2), undefined);
  const full = queue.push(3);
  t.true(full instanceof Promise, 'at the limit: wait');
  let roomMade = false;
  void full!.then(() => (roomMade = true));
  await Promise.resolve();
  t.false(roomMade);
  t.deepEqual(await read(queue, 1), [1]);
  await full;
  t.true(roomMade);
  t.is(queue.pending, 2, 'nothing was dropped');
});

test("'wait': end() releases a producer waiting for room, and the buffered values are still read", async (t) => {
  const queue = new BoundedQueue<number>({ limit: 1, whenFull: 'wait' });
  const full = queue.push(1)!;
  queue.end();
  await full;
  t.deepEqual(await read(queue, 5), [1]);
  t.deepEqual(await queue.next(), { value: undefined, done: true });
});

test("'fail': a reader limit behind is ended with the overflow error at once, its values dropped, and detached", async (t) => {
  let detached = 0;
  const queue = new BoundedQueue<number>({
    limit: 3, whenFull: 'fail', overflowError: (limit) => new Error(`behind by ${limit}`), onDetach: () => detached++,
  });
  for (let i = 1; i <= 3; i++) t.is(queue.push(i), undefined);
  t.is(detached, 0, 'at the limit: still attached');
  queue.push(4);
  t.is(detached, 1);
  t.is(queue.pending, 0, 'what it held is dropped');
  await t.throwsAsync(queue.next(), { message: 'behind by 3' });
  queue.push(5);
  t.deepEqual(await queue.next(), { value: undefined, done: true }, 'nothing after the failure');
  t.is(detached, 1, 'detached once');
});

test('fail(err) rejects the read after the buffered values; return() empties and detaches', async (t) => {
  const queue = new BoundedQueue<string>({ limit: 10, whenFull: 'fail' });
  queue.push('a');
  queue.fail(new Error('closed'));
  t.deepEqual(await read(queue, 1), ['a']);
  await t.throwsAsync(queue.next(), { message: 'closed' });

  let detached = false;
  const other = new BoundedQueue<string>({ limit: 10, whenFull: 'wait', onDetach: () => (detached = true) });
  other.push('x');
  t.deepEqual(await other.return(), { value: undefined, done: true });
  t.true(detached);
  other.push('y');
  t.deepEqual(await other.next(), { value: undefined, done: true });
});

test('a limit below 1 is refused', (t) => {
  t.throws(() => new BoundedQueue({ limit: 0, whenFull: 'wait' }), { instanceOf: RangeError });
});
