import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scrapeTotals } from '../../bench/fabric/metrics.js';
import { profileFileOf, summarize } from '../../bench/fabric/profile.js';
import { splitByThread, threadTimes } from '../../bench/fabric/threads.js';

/** A .cpuprofile of four nodes: root, idle, and two functions of one file; samples 1 ms apart from startTime 1,000 µs. */
function writeProfile(dir: string, name: string, samples: readonly number[]): string {
  const frame = (id: number, functionName: string, url: string, lineNumber: number) => ({ id, callFrame: { functionName, scriptId: String(id), url, lineNumber, columnNumber: 0 }, hitCount: 0, children: [] });
  const profile = {
    nodes: [frame(1, '(root)', '', -1), frame(2, '(idle)', '', -1), frame(3, 'ingest', 'node:internal/store', 9), frame(4, '', 'node:internal/store', 41)],
    startTime: 1_000,
    endTime: 1_000 + samples.length * 1_000,
    samples,
    timeDeltas: samples.map(() => 1_000),
  };
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(profile));
  return file;
}

test('a profile is summed over the windows only: self time per function and per file, idle apart', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fabric-profile-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // Samples at 2, 3, ..., 9 ms; each lasts until the next one (1 ms), the last one 0.
  const file = writeProfile(dir, 'CPU.20260101.000000.4242.0.001.cpuprofile', [3, 3, 3, 4, 2, 2, 3, 4]);
  const summary = summarize(file, [{ startMicros: 2_000, endMicros: 6_000 }, { startMicros: 8_000, endMicros: 9_000 }]);
  // Inside: samples at 2, 3, 4, 5 ms (ingest x3, anonymous) and 8 ms (ingest).
  t.is(summary.sampledMs, 5);
  t.is(summary.idleMs, 0);
  t.deepEqual(summary.functions, [{ what: 'ingest node:internal/store:10', ms: 4 }, { what: '(anonymous) node:internal/store:42', ms: 1 }]);
  t.deepEqual(summary.files, [{ what: 'node:internal/store', ms: 5 }]);
  const idle = summarize(file, [{ startMicros: 6_000, endMicros: 8_000 }]);
  t.is(idle.idleMs, 2, 'the idle samples at 6 and 7 ms');
  t.deepEqual(idle.functions, [], 'idle is no function');
});

test('the profile of a process is its main thread\'s file, found by pid', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fabric-profile-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeProfile(dir, 'CPU.20260101.000000.4242.1.002.cpuprofile', [3]);
  const main = writeProfile(dir, 'CPU.20260101.000000.4242.0.001.cpuprofile', [3]);
  writeProfile(dir, 'CPU.20260101.000000.42420.0.003.cpuprofile', [3]);
  t.is(profileFileOf(dir, 4242), main);
  t.is(profileFileOf(dir, 77), undefined);
});

test('CPU by thread: the main thread, libzmq\'s threads, the rest; a thread born in between counts from zero', (t) => {
  const before = new Map([[10, { name: 'node', cpuMs: 100 }], [11, { name: 'ZMQbg/IO/0', cpuMs: 50 }], [12, { name: 'node', cpuMs: 5 }]]);
  const after = new Map([[10, { name: 'node', cpuMs: 160 }], [11, { name: 'ZMQbg/IO/0', cpuMs: 70 }], [12, { name: 'node', cpuMs: 9 }], [13, { name: 'ZMQbg/Reaper', cpuMs: 3 }]]);
  t.deepEqual(splitByThread(before, after, 10), { main: 60, zmq: 23, other: 4 });
  const own = threadTimes(process.pid);
  t.true(own.has(process.pid), 'this process\'s own threads include its main thread, named by the kernel');
});

test('a scrape sums each metric over its labels and skips comments', async (t) => {
  const server = createServer((_, res) => {
    res.end([
      '# HELP tickfan_snapshot_messages_ingested_total Messages.',
      '# TYPE tickfan_snapshot_messages_ingested_total counter',
      'tickfan_snapshot_messages_ingested_total{outcome="applied"} 90',
      'tickfan_snapshot_messages_ingested_total{outcome="new_topic"} 10',
      'tickfan_gateway_connections 0',
      '',
    ].join('\n'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const totals = await scrapeTotals((server.address() as AddressInfo).port);
  t.is(totals.get('tickfan_snapshot_messages_ingested_total'), 100);
  t.is(totals.get('tickfan_gateway_connections'), 0);
  t.is(totals.size, 2);
});
