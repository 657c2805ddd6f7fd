import test from 'ava';
import { backoffDelay } from '../../src/util/backoff.js';

test('backoff: the base doubles from the minimum up to the maximum; jitter takes off up to its share', (t) => {
  const options = { minDelayMs: 250, maxDelayMs: 10_000, jitter: 0.5 };
  t.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(n, options, () => 0)), [250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  t.deepEqual([1, 2, 3].map((n) => backoffDelay(n, options, () => 1)), [125, 250, 500]);
  t.is(backoffDelay(1000, options, () => 0), 10_000);
});
