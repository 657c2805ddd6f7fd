import test from 'ava';
import { SCAN_SLICE_BYTES, ScannedFrames, scanEvents } from '../../bench/fanout/scan.js';

/** A frame in the gateway's form, with a record that has an `exchTs` and a `counts` key to be ignored. */
function frame(tss: readonly number[], padding = 0): string {
  const events = tss.map((ts, i) => `{"type":"tick","topic":"tick.V.S${i}","epoch":7,"seq":${i + 1},"ts":${ts},"data":{"exchTs":99,"counts":5,"pad":"${'x'.repeat(padding)}"}}`);
  return `[${events.join(',')}]`;
}

function scan(text: string, before = '', after = ''): number[] {
  const data = Buffer.from(before + text + after, 'latin1');
  const seen: number[] = [];
  const count = scanEvents(data, before.length, before.length + text.length, (ts) => seen.push(ts));
  if (count !== seen.length) throw new Error(`counted ${count}, visited ${seen.length}`);
  return seen;
}

test('every event of a frame, in order, with its ts; the record\'s own keys ending in ts do not count', (t) => {
  const tss = [1764070000123456, 1764070000123457, 1764070000999999];
  t.deepEqual(scan(frame(tss)), tss);
  t.deepEqual(scan('[{"type":"subscribed","id":1,"topics":["tick.*"]}]'), [], 'a control event has no ts');
});

test('only the frame\'s own range: bytes before and after it in the buffer are not read', (t) => {
  const tss = [1764070000000001, 1764070000000002];
  t.deepEqual(scan(frame(tss), '"ts":5,', ',"ts":6'), tss);
  t.deepEqual(scan(`ts":5,${frame(tss)}`, '"'), tss, 'a quote just before the range does not make a key of what starts it');
});

test('a frame over one slice: each key counted once, wherever the slice boundary falls in it', (t) => {
  // Events of about 1 KiB, a bit more than one slice of them, after a first event whose length
  // grows by one byte per run: over one event's length of runs, the slice boundary falls on
  // every byte of an event, before, inside and after its key and its digits.
  const tss = Array.from({ length: Math.ceil(SCAN_SLICE_BYTES / 1000) + 2 }, (_, i) => 1764070000000000 + i);
  const events = frame(tss, 900).slice(1);
  const eventLength = Math.ceil(events.length / tss.length);
  const wrong: number[] = [];
  for (let shift = 0; shift <= eventLength; shift++) {
    const text = `[{"type":"heartbeat","pad":"${'y'.repeat(shift)}"},${events}`;
    if (scan(text, 'z').join() !== tss.join()) wrong.push(shift);
  }
  t.deepEqual(wrong, []);
});

test('ScannedFrames: equal bytes anywhere in a buffer give the ts found the first time; other bytes of the same length are scanned anew', (t) => {
  const frames = new ScannedFrames(2);
  const a = frame([1764070000000001, 1764070000000002]);
  const b = a.replace('"ts":1764070000000002', '"ts":1764070000000003');
  t.is(a.length, b.length);
  t.deepEqual(frames.tssOf(Buffer.from(a, 'latin1'), 0, a.length), [1764070000000001, 1764070000000002]);
  const again = frames.tssOf(Buffer.from(`xyz${a}`, 'latin1'), 3, 3 + a.length);
  t.deepEqual(again, [1764070000000001, 1764070000000002]);
  t.deepEqual(frames.tssOf(Buffer.from(b, 'latin1'), 0, b.length), [1764070000000001, 1764070000000003]);
});

test('ScannedFrames keeps at most its capacity, the oldest leaving first', (t) => {
  const frames = new ScannedFrames(2);
  const texts = [frame([1]), frame([22]), frame([333])];
  const submit = (text: string) => frames.tssOf(Buffer.from(text, 'latin1'), 0, text.length);
  texts.forEach(submit);
  t.is(frames.scans, 3);
  submit(texts[2]!);
  submit(texts[1]!);
  t.is(frames.scans, 3, 'the two newest are known');
  submit(texts[0]!);
  t.is(frames.scans, 4, 'the oldest was let go');
});
