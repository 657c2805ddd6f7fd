import { mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { CorruptSnapshotFile, loadSnapshotFile, saveSnapshotFile } from '../../src/snapshot/persist.js';
import { SnapshotStore, type StoredMessage } from '../../src/snapshot/store.js';
import { encodeHeader, encodeMessage, encodeTickRecord, type Header } from '../../src/wire/index.js';
import { message, roomyLimits, stored } from './_helpers.js';

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tickfan-persist-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Records of every shape the cache holds: ticks (one with non-ASCII text), a status record, big numbers. */
const records: StoredMessage[] = [
  stored(message('tick.SIM.BTC-USD', 0xdeadbeef, 1201)),
  stored(message('status.SIM', 7, 3)),
  stored(message('tick.XNAS.BRK.B', 0xffff_ffff, Number.MAX_SAFE_INTEGER, { ts: Number.MAX_SAFE_INTEGER })),
  {
    epoch: 1, seq: 1, ts: 0,
    frames: encodeMessage('tick.XPAR.AIR', { flags: 0, epoch: 1, seq: 1, ts: 0 },
      encodeTickRecord({ venue: 'XPAR', symbol: 'AIR', last: 142.5, name: 'Airbus Société européenne ✈' })),
  },
];

const topicOf = (m: StoredMessage): string => m.frames[0].toString();

test('save then load round-trips every record, its frames byte for byte', async (t) => {
  const file = join(await tempDir(t), 'snapshot.ndjson');
  t.is(await saveSnapshotFile(file, records), records.length);
  const loaded = await loadSnapshotFile(file);
  t.deepEqual(loaded.map((r) => r.topic), records.map(topicOf));
  loaded.forEach(({ header: { epoch, seq, ts }, frames }, i) => {
    const original = records[i]!;
    t.deepEqual({ epoch, seq, ts }, { epoch: original.epoch, seq: original.seq, ts: original.ts });
    frames.forEach((frame, f) => t.true(frame.equals(original.frames[f]!), `record ${i} frame ${f}`));
  });
});

test('a store restored from a saved file serves the same snapshot as the store that saved it', async (t) => {
  const file = join(await tempDir(t), 'snapshot.ndjson');
  const before = new SnapshotStore(roomyLimits);
  for (const m of [message('tick.SIM.B', 1, 1), message('tick.SIM.A', 2, 5), message('tick.SIM.B', 1, 2), message('status.SIM', 3, 9)]) before.ingest(m);
  await saveSnapshotFile(file, before.latestMessages());
  const after = new SnapshotStore(roomyLimits);
  for (const m of await loadSnapshotFile(file)) after.restore(m);
  const frames = (store: SnapshotStore): string[][] => store.snapshot('').map((m) => m.frames.map((f) => f.toString('hex')));
  t.deepEqual(frames(after), frames(before));
});

test('an empty cache saves and loads back as an empty list', async (t) => {
  const file = join(await tempDir(t), 'snapshot.ndjson');
  t.is(await saveSnapshotFile(file, []), 0);
  t.deepEqual(await loadSnapshotFile(file), []);
});

test('save creates missing parent directories', async (t) => {
  const file = join(await tempDir(t), 'var', 'lib', 'snapshot.ndjson');
  await saveSnapshotFile(file, records);
  t.is((await loadSnapshotFile(file)).length, records.length);
});

test('a missing file loads as an empty list', async (t) => {
  t.deepEqual(await loadSnapshotFile(join(await tempDir(t), 'never-saved.ndjson')), []);
});

test('a path that cannot be read is an I/O error, not a corrupt file', async (t) => {
  const dir = await tempDir(t);
  const err = await t.throwsAsync(loadSnapshotFile(dir));
  t.false(err instanceof CorruptSnapshotFile);
  t.is((err as NodeJS.ErrnoException).code, 'EISDIR');
});

// ---------------------------------------------------------------- atomic writes

test('after a save, no temporary file is left next to the snapshot', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'snapshot.ndjson');
  await saveSnapshotFile(file, records);
  await saveSnapshotFile(file, records.slice(1));
  t.deepEqual(await readdir(dir), ['snapshot.ndjson']);
});

test('a pre-existing file is replaced whole (by rename), never truncated or rewritten in place', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'snapshot.ndjson');
  const many = Array.from({ length: 200 }, (_, i) => stored(message(`tick.SIM.S${i}`, 1, i + 1)));
  await saveSnapshotFile(file, many);
  const previous = await readFile(file);
  // A reader that opened the old file before the save must go on reading the old file, complete.
  const reader = await open(file, 'r');
  t.teardown(() => reader.close());

  await saveSnapshotFile(file, records.slice(0, 2));

  t.deepEqual((await loadSnapshotFile(file)).map((r) => r.topic), records.slice(0, 2).map(topicOf));
  t.true((await reader.readFile()).equals(previous), 'the old file was left as it was');
  t.deepEqual(await readdir(dir), ['snapshot.ndjson']);
});

test('concurrent saves to the same file are written one after another: the last call\'s records are left, whole, and no temporary file', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'snapshot.ndjson');
  const versions = [records.slice(0, 1), records.slice(1, 3), records, records.slice(3)];
  const counts = await Promise.all(versions.map((version) => saveSnapshotFile(file, version)));
  t.deepEqual(counts, versions.map((version) => version.length));
  t.deepEqual((await loadSnapshotFile(file)).map((r) => r.topic), versions.at(-1)!.map(topicOf));
  t.deepEqual(await readdir(dir), ['snapshot.ndjson']);
});

test('a save that cannot replace the file rejects, removes its temporary file and leaves what was there', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'snapshot.ndjson');
  await mkdir(join(file, 'occupied'), { recursive: true }); // a non-empty directory where the file should go
  await t.throwsAsync(saveSnapshotFile(file, records));
  t.deepEqual(await readdir(dir), ['snapshot.ndjson']);
  t.deepEqual(await readdir(file), ['occupied']);
});

// ---------------------------------------------------------------- corrupt files

/** The lines of a valid file of three records: header, then lines 2, 3 and 4. */
async function validLines(dir: string): Promise<string[]> {
  const file = join(dir, 'valid.ndjson');
  await saveSnapshotFile(file, records.slice(0, 3));
  const lines = (await readFile(file, 'utf8')).split('\n');
  lines.pop(); // the final newline
  return lines;
}

const frameLine = (topic: Buffer | string, header: Buffer, payload: Buffer | string): string =>
  JSON.stringify([topic, header, payload].map((f) => Buffer.from(f).toString('base64')));
const goodHeader: Header = { flags: 0, epoch: 1, seq: 1, ts: 1 };
const goodPayload = '{"venue":"SIM","symbol":"BTC-USD","bid":1}';
const withHeader = (change: (buf: Buffer) => void): Buffer => {
  const buf = encodeHeader(goodHeader);
  change(buf);
  return buf;
};
const replaceLine = (n: number, line: string) => (lines: string[]): string[] => lines.map((l, i) => (i === n - 1 ? line : l));

const corrupt: [what: string, mutate: (lines: string[]) => string[], mentions: string[], raw?: (text: string) => string][] = [
  ['an empty file', () => [], ['line 1 is not JSON'], () => ''],
  ['a file truncated in the middle of a record', (lines) => lines, ['line 4 is not JSON'], (text) => text.slice(0, -20)],
  ['a file truncated in the middle of its header', (lines) => lines, ['line 1 is not JSON'], (text) => text.slice(0, 10)],
  ['a file truncated at a line boundary', (lines) => lines.slice(0, -1), ['line 1: the header promises 3 records, the file holds 2 (truncated?)']],
  ['a file with more records than its header promises', (lines) => [...lines, lines[1]!], ['line 1: the header promises 3 records, the file holds 4']],
  ['a header that is not JSON', replaceLine(1, 'tickfan-snapshot v1'), ['line 1 is not JSON']],
  ['a header of another format', replaceLine(1, '{"format":"other","version":1,"count":3}'), ['line 1 is not a tickfan-snapshot v1 header']],
  ['a header of another version', replaceLine(1, '{"format":"tickfan-snapshot","version":2,"count":3}'), ['line 1 is not a tickfan-snapshot v1 header']],
  ['a header that is JSON null', replaceLine(1, 'null'), ['line 1 is not a tickfan-snapshot v1 header']],
  ['a header that is a JSON array', replaceLine(1, '[]'), ['line 1 is not a tickfan-snapshot v1 header']],
  ['a header whose count is not a number', replaceLine(1, '{"format":"tickfan-snapshot","version":1,"count":"3"}'), ['line 1 is not a tickfan-snapshot v1 header']],
  ['a header without a count', replaceLine(1, '{"format":"tickfan-snapshot","version":1}'), ['line 1 is not a tickfan-snapshot v1 header']],
  ['a record line that is not JSON', replaceLine(3, '["dGljaw==", "AQ'), ['line 3 is not JSON']],
  ['an empty record line', replaceLine(3, ''), ['line 3 is not JSON']],
  ['a record of two frames', replaceLine(3, '["dGljaw==","AQ=="]'), ['line 3 is not an array of 3 base64 frames']],
  ['a record that is an object', replaceLine(2, '{"topic":"tick.SIM.A"}'), ['line 2 is not an array of 3 base64 frames']],
  ['a record of numbers', replaceLine(4, '[1,2,3]'), ['line 4 is not an array of 3 base64 frames']],
  ['a record whose topic is invalid', replaceLine(3, frameLine('tick..BTC', encodeHeader(goodHeader), goodPayload)), ['line 3:', 'empty segment']],
  ['a record whose header has epoch 0', replaceLine(3, frameLine('tick.SIM.BTC-USD', withHeader((b) => b.writeUInt32BE(0, 4)), goodPayload)), ['line 3:', 'epoch is 0']],
  ['a record whose header is short', replaceLine(3, frameLine('tick.SIM.BTC-USD', encodeHeader(goodHeader).subarray(0, 23), goodPayload)), ['line 3:', 'header is 23 bytes']],
  ['a record whose header has an unknown flag', replaceLine(3, frameLine('tick.SIM.BTC-USD', withHeader((b) => { b[1] = 0x80; }), goodPayload)), ['line 3:', 'flags']],
  ['a record whose payload is not JSON', replaceLine(3, frameLine('tick.SIM.BTC-USD', encodeHeader(goodHeader), '{"venue":')), ['line 3:', 'payload is not JSON']],
  ['a record whose payload is not UTF-8', replaceLine(3, frameLine('tick.SIM.BTC-USD', encodeHeader(goodHeader), Buffer.from([0x7b, 0xff, 0x7d]))), ['line 3:', 'not valid UTF-8']],
  ['a record whose payload names another instrument', replaceLine(3, frameLine('tick.SIM.ETH-USD', encodeHeader(goodHeader), goodPayload)), ['line 3:', 'does not match']],
  ['a record whose payload lacks prices', replaceLine(3, frameLine('tick.SIM.BTC-USD', encodeHeader(goodHeader), '{"venue":"SIM","symbol":"BTC-USD"}')), ['line 3:', 'none of bid, ask, last']],
];

for (const [what, mutate, mentions, raw] of corrupt) {
  test(`${what} is refused whole: CorruptSnapshotFile naming the line`, async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'snapshot.ndjson');
    const text = `${mutate(await validLines(dir)).join('\n')}\n`;
    await writeFile(file, raw ? raw(text) : text);
    const err = await t.throwsAsync(loadSnapshotFile(file), { instanceOf: CorruptSnapshotFile });
    for (const part of mentions) t.true(err?.message.includes(part), `${JSON.stringify(err?.message)} mentions ${JSON.stringify(part)}`);
  });
}
