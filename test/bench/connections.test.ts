import test from 'ava';
import { parseOptions } from '../../bench/connections/args.js';
import { heapUsedBytes } from '../../bench/connections/metrics-text.js';
import { resumeRequest, subscribeRequest } from '../../bench/connections/requests.js';
import { MAX_PER_ADDRESS, shares, sourceAddress } from '../../bench/connections/shares.js';

test('shares split the clients over as few load processes as the per-process cap allows, as evenly as can be', (t) => {
  t.deepEqual(shares(10_000, 10_000), [10_000]);
  t.deepEqual(shares(50_000, 10_000), [10_000, 10_000, 10_000, 10_000, 10_000]);
  t.deepEqual(shares(25_001, 10_000), [8_334, 8_334, 8_333]);
  t.is(shares(12_345, 1_000).reduce((a, b) => a + b, 0), 12_345);
  t.throws(() => shares(100_000, MAX_PER_ADDRESS + 1), { message: /at most/ });
});

test('each load process has its own source address, never the gateway\'s 127.0.0.1', (t) => {
  t.is(sourceAddress(0), '127.0.0.2');
  t.is(sourceAddress(252), '127.0.0.254');
  t.throws(() => sourceAddress(253));
});

test('heapUsedBytes reads prom-client\'s heap gauge, with or without labels, and refuses a text without it', (t) => {
  t.is(heapUsedBytes('# HELP x\nnodejs_heap_size_total_bytes 9\nnodejs_heap_size_used_bytes 12345678\n'), 12_345_678);
  t.is(heapUsedBytes('nodejs_heap_size_used_bytes{role="gateway"} 42\n'), 42);
  t.throws(() => heapUsedBytes('process_resident_memory_bytes 1\n'), { message: /nodejs_heap_size_used_bytes/ });
});

test('a resume subscribes with `since` at the client\'s position; without one it is a plain subscribe with snapshot', (t) => {
  const topic = 'tick.BENCH.ALL';
  t.deepEqual(JSON.parse(resumeRequest(topic, { epoch: 7, seq: 3 })), { op: 'subscribe', id: 2, topics: [topic], snapshot: true, since: { [topic]: { epoch: 7, seq: 3 } } });
  t.deepEqual(JSON.parse(resumeRequest(topic, undefined)), JSON.parse(subscribeRequest(topic)));
  t.deepEqual(JSON.parse(subscribeRequest(topic)), { op: 'subscribe', id: 1, topics: [topic], snapshot: true });
});

test('options: counts and per-process cap are checked, --quick shortens the idle window', (t) => {
  t.like(parseOptions([]), { connections: [10_000, 50_000], perProcess: 10_000, idleSeconds: 15 });
  t.like(parseOptions(['--quick', '--connections', '1000']), { connections: [1_000], idleSeconds: 5 });
  t.throws(() => parseOptions(['--per-process', String(MAX_PER_ADDRESS + 1)]));
  t.is(parseOptions(['--help']), 'help');
});
