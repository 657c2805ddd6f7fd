import test, { type ExecutionContext } from 'ava';
import { Child, childDied } from '../../bench/common/spawn.js';
import type { FixtureMethods } from './fixtures/rpc-child.js';

/** Far above what any call here needs, so a call that is not answered shows as this deadline passing. */
const CALL_MS = 10_000;
const STOP_MS = 2_000;

async function started(t: ExecutionContext, label = 'fixture'): Promise<Child<FixtureMethods>> {
  const child = new Child<FixtureMethods>(new URL('./fixtures/rpc-child.ts', import.meta.url), label);
  t.teardown(() => child.stop(STOP_MS));
  return child.started();
}

test('a call resolves with what the child method returned', async (t) => {
  const child = await started(t);
  t.is(await child.call('echo', { value: 'hello' }, CALL_MS), 'hello');
});

test("a method that throws rejects the call with the child's error, and the child goes on serving", async (t) => {
  const child = await started(t, 'thrower');
  await t.throwsAsync(child.call('fail', { message: 'no such topic' }, CALL_MS), { message: /^thrower\.fail failed: Error: no such topic/ });
  t.is(await child.call('echo', { value: 'still here' }, CALL_MS), 'still here');
});

test('a child that dies during a call rejects the call at once, naming the child, its exit and its last output, and childDied rejects', async (t) => {
  const child = await started(t, 'crasher');
  const error = await t.throwsAsync(child.call('die', { code: 7, lastWords: 'out of memory, say' }, CALL_MS));
  t.regex(error!.message, /^crasher exited \(code 7\) during die; its output ends with:\nout of memory, say/);
  await t.throwsAsync(childDied, { message: /exited unexpectedly/ });
  await t.throwsAsync(child.call('echo', { value: 'anyone?' }, CALL_MS), { message: /^crasher has exited \(code 7\); cannot call echo/ });
});

test('a child that exits before it serves fails started() with its exit and output', async (t) => {
  const child = new Child<FixtureMethods>(new URL('./fixtures/dies-at-start.ts', import.meta.url), 'early');
  t.teardown(() => child.stop(STOP_MS));
  await t.throwsAsync(child.started(), { message: /^early exited \(code 3\) while starting; its output ends with:\ncannot start: no such endpoint/ });
});

test('a call the child never answers rejects once its deadline has passed', async (t) => {
  const child = await started(t, 'sleeper');
  const began = performance.now();
  await t.throwsAsync(child.call('hang', undefined, 300), { message: /^sleeper\.hang took longer than 300 ms/ });
  t.true(performance.now() - began < 3_000);
  t.is(await child.call('echo', { value: 'awake' }, CALL_MS), 'awake');
});

test('stop kills a child that cannot even read the request to exit, within its bound', async (t) => {
  const child = await started(t, 'spinner');
  void child.call('spin', undefined, CALL_MS).catch(() => undefined);
  const began = performance.now();
  await child.stop(500);
  t.true(performance.now() - began < 1_500);
  await t.throwsAsync(child.call('echo', { value: 'gone?' }, CALL_MS), { message: /^spinner has exited \(SIGKILL\)/ });
});
