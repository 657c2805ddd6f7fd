import test from 'ava';
import { SnapshotSchedule } from '../../src/feeds/snapshot-schedule.js';
import { Conditions } from '../helpers/conditions.js';

test('every book is due once per interval, round robin, several per turn when there are many', async (t) => {
  const books = Array.from({ length: 100 }, (_, i) => i);
  const due: number[] = [];
  const conditions = new Conditions();
  const schedule = new SnapshotSchedule(200, books, (book) => {
    due.push(book);
    conditions.check();
  });
  const startedAt = performance.now();
  schedule.start();
  await conditions.until(() => due.length >= 200, 10_000, () => `200 books due (have ${due.length})`);
  const elapsedMs = performance.now() - startedAt;
  schedule.stop();
  t.deepEqual(due.slice(0, 200), [...books, ...books]);
  t.true(elapsedMs >= 350 && elapsedMs < 1500, `two intervals of 200 ms took ${elapsedMs.toFixed(0)} ms`);
  const atStop = due.length;
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.is(due.length, atStop, 'nothing is due after stop()');
});

test('an interval of 0 never makes a book due', async (t) => {
  let due = 0;
  const schedule = new SnapshotSchedule(0, ['a'], () => due++);
  schedule.start();
  await new Promise((resolve) => setTimeout(resolve, 30));
  schedule.stop();
  t.is(due, 0);
});
