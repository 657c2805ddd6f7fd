import test from 'ava';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Publisher, Pull, Push } from 'zeromq';
import { tickSink } from '../helpers/sinks.js';
import { IngestAdapter } from '../../src/feeds/ingest/index.js';
import { encodeHeader } from '../../src/wire/index.js';
import { ipcDir, withTimeout } from '../helpers/tickfan-process.js';
import { AdapterProbe } from './_helpers.js';
import { FeedFabric } from './_fabric.js';

const PYTHON = '/usr/bin/python3';
const EXAMPLE = fileURLToPath(new URL('../interop/ingest_push.py', import.meta.url));

function valid(n: number): Buffer[] {
  return [Buffer.from('tick.EXT.A'), Buffer.from(JSON.stringify({ venue: 'EXT', symbol: 'A', bid: n, exchTs: 1_764_070_000_000_000 + n }))];
}

test('docs/feeds.md shows exactly the Python example the tests run', (t) => {
  const docs = readFileSync(fileURLToPath(new URL('../../docs/feeds.md', import.meta.url)), 'utf8');
  const shown = /```python\n([\s\S]*?)```/.exec(docs)?.[1];
  t.is(shown, readFileSync(EXAMPLE, 'utf8'));
});

test('the Python example from docs/feeds.md pushes ticks that come out with epoch and seq 1..10', async (t) => {
  const fabric = await new FeedFabric().start(['tick.PY.'], {});
  const ingest = fabric.dir.endpoint('ingest');
  const child = spawn(PYTHON, [EXAMPLE], { env: { ...process.env, TICKFAN_INGEST: ingest }, stdio: ['ignore', 'inherit', 'inherit'] });
  const code = await withTimeout(new Promise((resolve) => child.on('close', resolve)), 15_000, 'ingest_push.py to exit');
  t.is(code, 0);
  await fabric.until(() => fabric.of('tick.PY.').length >= 10, '10 ticks from Python');
  const ticks = fabric.of('tick.PY.');
  t.deepEqual(ticks.map((m) => m.header.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  t.true(ticks.every((m) => m.header.epoch === fabric.role.publisher.epoch && m.header.epoch !== 0));
  t.deepEqual(ticks.map((m) => m.record.bid), [100, 100.01, 100.02, 100.03, 100.04, 100.05, 100.06, 100.07, 100.08, 100.09]);
  t.true(ticks.every((m) => m.topic === 'tick.PY.DEMO' && Number.isSafeInteger(m.record.exchTs)));
  await fabric.stop();
  await fabric.close();
});

test('malformed pushes are refused and counted by reason; the valid ones around them all arrive in order', async (t) => {
  const dir = ipcDir();
  const probe = new AdapterProbe(new IngestAdapter({ endpoint: dir.endpoint('pull'), subEndpoint: '', maxRecordBytes: 65536, receiveHwm: 1000 }));
  await probe.start();
  const push = new Push({ linger: 0 });
  push.connect(dir.endpoint('pull'));
  const bad: [string, Buffer[]][] = [
    ['json', [Buffer.from('tick.EXT.A'), Buffer.from('{"venue": "EXT", "symbol": ')]],
    ['topic', [Buffer.from('tick..A'), Buffer.from('{}')]],
    ['topic', [Buffer.from('status.EXT'), Buffer.from('{"venue":"EXT","state":"up"}')]],
    ['record', [Buffer.from('tick.EXT.A'), Buffer.from('{"venue":"EXT","symbol":"A"}')]],
    ['mismatch', [Buffer.from('tick.EXT.A'), Buffer.from('{"venue":"EXT","symbol":"B","bid":1}')]],
    ['frame_count', [Buffer.from('tick.EXT.A'), Buffer.from('{}'), Buffer.from('extra')]],
    ['too_large', [Buffer.from('tick.EXT.A'), Buffer.alloc(10 * 1024 * 1024, 0x20)]],
    ['json', [Buffer.from('tick.EXT.A'), Buffer.from([0xff, 0xfe])]],
  ];
  let n = 0;
  await push.send(valid(++n));
  for (const [, frames] of bad) {
    await push.send(frames);
    await push.send(valid(++n));
  }
  await probe.until(() => probe.records.length >= n, `${n} valid records`);
  t.deepEqual(probe.records.map((r) => r.bid), Array.from({ length: n }, (_, i) => i + 1));
  t.deepEqual(probe.rejectReasons(), bad.map(([reason]) => reason));
  const tooLarge = probe.events.find((e) => e.kind === 'rejected' && e.reason === 'too_large') as { detail: string };
  t.regex(tooLarge.detail, /10485760 bytes, at most 65536/);
  t.is(probe.count('crash'), 0);
  push.close();
  await probe.stop();
  dir.cleanup();
});

test('programs with a PUB socket can publish to the SUB edge, 2-frame or as they would to the proxy frontend (header ignored)', async (t) => {
  const dir = ipcDir();
  const probe = new AdapterProbe(new IngestAdapter({ endpoint: dir.endpoint('pull'), subEndpoint: dir.endpoint('sub'), maxRecordBytes: 65536, receiveHwm: 1000 }));
  await probe.start();
  const pub = new Publisher({ linger: 0 });
  pub.connect(dir.endpoint('sub'));
  // A PUB drops what it sends before the SUB's subscription reaches it: repeat (bounded) until one arrives.
  for (let i = 1; i <= 200 && probe.records.length === 0; i++) {
    await pub.send(valid(i));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  t.true(probe.records.length > 0);
  t.is(probe.records[0]!.venue, 'EXT');
  const [topic, record] = valid(1000);
  await pub.send([topic!, encodeHeader({ flags: 0, epoch: 99, seq: 5, ts: 1 }), record!]);
  await pub.send(valid(1001));
  await probe.until(() => probe.records.some((r) => r.bid === 1001), 'the messages after the subscription');
  t.deepEqual(probe.records.slice(-2).map((r) => r.bid), [1000, 1001]);
  t.deepEqual(probe.rejectReasons(), []);
  pub.close();
  await probe.stop();
  dir.cleanup();
});

test('an ingest whose endpoint is taken fails to start with an error naming the cause', async (t) => {
  const holder = new Pull({ linger: 0 });
  await holder.bind('tcp://127.0.0.1:*');
  const ingest = new IngestAdapter({ endpoint: holder.lastEndpoint!, subEndpoint: '', maxRecordBytes: 100, receiveHwm: 10 });
  await t.throwsAsync(ingest.start(tickSink()), { message: /cannot bind tcp:\/\/127\.0\.0\.1:\d+ \(setting feeds\.ingest\.endpoint\): .*in use/i });
  holder.close();
});
