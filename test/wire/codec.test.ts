import assert from 'node:assert/strict';
import test from 'ava';
import fc from 'fast-check';
import {
  WireError, decodeMessage, encodeHeader, encodeMessage, encodeStatusRecord, encodeTickRecord, type DecodedMessage,
  type RejectReason,
} from '../../src/wire/index.js';
import { headerArb, holds, outcome, segmentArb, statusRecordArb, tickCaseArb, throwsWire, validHeader } from './_helpers.js';

const tickTopicFrame = Buffer.from('tick.SIM.BTC-USD');
const headerFrame = encodeHeader(validHeader);
const tickPayload = Buffer.from('{"venue":"SIM","symbol":"BTC-USD","bid":64000.5,"ask":64001}');

/** A valid tick message with some frames replaced. */
function framesWith(replace: { topic?: Buffer; header?: Buffer; payload?: Buffer } = {}): Buffer[] {
  return [replace.topic ?? tickTopicFrame, replace.header ?? headerFrame, replace.payload ?? tickPayload];
}

/** Asserts that decoded.frames holds the very Buffer objects of `frames`. */
function assertSameFrames(t: import('ava').ExecutionContext, decoded: DecodedMessage, frames: readonly Buffer[]): void {
  t.is(decoded.frames.length, 3);
  decoded.frames.forEach((frame, i) => t.is(frames[i], frame, `frame ${i} is the input Buffer`));
}

test('WireError is an Error named WireError that carries its reason', (t) => {
  const err = new WireError('seq', 'header seq is 0');
  t.true(err instanceof Error);
  t.is(err.name, 'WireError');
  t.is(err.reason, 'seq');
  t.is(err.message, 'header seq is 0');
});

test('encodeMessage produces the 3 frames of PROTOCOL.md section 3: topic, 24-byte header, payload as given', (t) => {
  const frames = encodeMessage('tick.SIM.BTC-USD', validHeader, tickPayload);
  t.is(frames.length, 3);
  t.deepEqual(frames[0], tickTopicFrame);
  t.deepEqual(frames[1], headerFrame);
  t.is(frames[2], tickPayload);
});

test('decodeMessage decodes a tick message and keeps the received frames', (t) => {
  const frames = framesWith();
  const decoded = decodeMessage(frames);
  t.is(decoded.kind, 'tick');
  t.is(decoded.topic, 'tick.SIM.BTC-USD');
  t.deepEqual(decoded.header, validHeader);
  t.deepEqual(decoded.record, { venue: 'SIM', symbol: 'BTC-USD', bid: 64000.5, ask: 64001 });
  assertSameFrames(t, decoded, frames);
});

test('decodeMessage decodes a status message', (t) => {
  const frames = [Buffer.from('status.SIM'), headerFrame, Buffer.from('{"venue":"SIM","state":"down","reason":"feed lost"}')];
  const decoded = decodeMessage(frames);
  t.is(decoded.kind, 'status');
  t.deepEqual(decoded.record, { venue: 'SIM', state: 'down', reason: 'feed lost' });
  assertSameFrames(t, decoded, frames);
});

test('decodeMessage does not re-encode: a payload with odd spacing and key order is kept byte for byte', (t) => {
  const payload = Buffer.from(' { "ask" : 2 ,\n "symbol":"BTC-USD", "venue":"SIM", "x":[1, 2] } ');
  const frames = framesWith({ payload });
  const decoded = decodeMessage(frames);
  assertSameFrames(t, decoded, frames);
  t.is(decoded.frames[2].toString('utf8'), ' { "ask" : 2 ,\n "symbol":"BTC-USD", "venue":"SIM", "x":[1, 2] } ');
});

test('property: decodeMessage(encodeMessage(tick)) returns the topic, header and record, with the very same frames', (t) => {
  holds(
    t,
    fc.property(tickCaseArb, headerArb, ({ topic, record }, header) => {
      const frames = encodeMessage(topic, header, encodeTickRecord(record));
      const decoded = decodeMessage(frames);
      assert.equal(decoded.kind, 'tick');
      assert.equal(decoded.topic, topic);
      assert.deepEqual(decoded.header, header);
      assert.deepEqual(decoded.record, JSON.parse(JSON.stringify(record)));
      frames.forEach((frame, i) => assert.equal(decoded.frames[i], frame, `frame ${i} is the input Buffer`));
    }),
  );
});

test('property: decodeMessage(encodeMessage(status)) returns the topic, header and record, with the very same frames', (t) => {
  const statusArb = segmentArb.chain((venue) => fc.tuple(fc.constant(venue), statusRecordArb(venue)));
  holds(
    t,
    fc.property(statusArb, headerArb, ([venue, record], header) => {
      const frames = encodeMessage(`status.${venue}`, header, encodeStatusRecord(record));
      const decoded = decodeMessage(frames);
      assert.equal(decoded.kind, 'status');
      assert.equal(decoded.topic, `status.${venue}`);
      assert.deepEqual(decoded.header, header);
      assert.deepEqual(decoded.record, JSON.parse(JSON.stringify(record)));
      frames.forEach((frame, i) => assert.equal(decoded.frames[i], frame, `frame ${i} is the input Buffer`));
    }),
  );
});

const invalidUtf8Payload = Buffer.concat([
  Buffer.from('{"venue":"SIM","symbol":"BTC-USD","bid":1,"note":"'),
  Buffer.from([0xc3, 0x28]),
  Buffer.from('"}'),
]);

const malformed: readonly { why: string; frames: Buffer[]; reason: RejectReason; mentions: string }[] = [
  ...[0, 1, 2, 4].map((count) => ({
    why: `it has ${count} frames`,
    frames: [...framesWith(), Buffer.from('{}')].slice(0, count),
    reason: 'frame_count' as const,
    mentions: `${count} frames, expected 3`,
  })),
  { why: 'the header is 16 bytes', frames: framesWith({ header: headerFrame.subarray(0, 16) }), reason: 'header', mentions: '16 bytes' },
  { why: 'the header frame is empty', frames: framesWith({ header: Buffer.alloc(0) }), reason: 'header', mentions: '0 bytes' },
  { why: 'the header version is 2', frames: framesWith({ header: Buffer.from([2, ...headerFrame.subarray(1)]) }), reason: 'version', mentions: 'version' },
  { why: 'the payload is truncated JSON', frames: framesWith({ payload: tickPayload.subarray(0, 20) }), reason: 'json', mentions: 'not JSON' },
  { why: 'the payload is empty', frames: framesWith({ payload: Buffer.alloc(0) }), reason: 'json', mentions: 'not JSON' },
  { why: 'the payload has a trailing comma', frames: framesWith({ payload: Buffer.from('{"venue":"SIM",}') }), reason: 'json', mentions: 'not JSON' },
  { why: 'the payload is not valid UTF-8', frames: framesWith({ payload: invalidUtf8Payload }), reason: 'json', mentions: 'UTF-8' },
  { why: 'the payload starts with a byte order mark', frames: framesWith({ payload: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), tickPayload]) }), reason: 'json', mentions: 'JSON' },
  { why: 'the payload is a JSON array', frames: framesWith({ payload: Buffer.from('[]') }), reason: 'record', mentions: 'array' },
  { why: 'the payload is JSON null', frames: framesWith({ payload: Buffer.from('null') }), reason: 'record', mentions: 'null' },
  { why: 'the record\'s symbol is not the topic\'s', frames: framesWith({ topic: Buffer.from('tick.SIM.ETH-USD') }), reason: 'mismatch', mentions: 'symbol' },
  { why: 'the record\'s venue is not the topic\'s', frames: framesWith({ topic: Buffer.from('tick.XNAS.BTC-USD') }), reason: 'mismatch', mentions: 'venue' },
  { why: 'a tick record is sent on a status topic', frames: framesWith({ topic: Buffer.from('status.SIM') }), reason: 'record', mentions: 'state' },
  { why: 'the topic is UTF-8 but not ASCII', frames: framesWith({ topic: Buffer.from('tick.SIM.BTC-€') }), reason: 'topic', mentions: 'ASCII' },
  { why: 'the topic has a Latin-1 byte', frames: framesWith({ topic: Buffer.from([...Buffer.from('tick.SIM.CAF'), 0xc9]) }), reason: 'topic', mentions: 'ASCII' },
  { why: 'the topic is empty', frames: framesWith({ topic: Buffer.alloc(0) }), reason: 'topic', mentions: 'empty' },
  { why: 'the topic has an unknown class', frames: framesWith({ topic: Buffer.from('quote.SIM.BTC-USD') }), reason: 'topic', mentions: 'quote.SIM.BTC-USD' },
];

for (const { why, frames, reason, mentions } of malformed) {
  test(`decodeMessage rejects a message when ${why} (reason '${reason}')`, (t) => {
    throwsWire(t, () => decodeMessage(frames), reason, mentions);
  });
}

/** Random frames: either fully random, or a valid message with one frame replaced or one byte changed. */
const framesArb: fc.Arbitrary<Buffer[]> = fc.oneof(
  fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 5 }).map((arrays) => arrays.map((bytes) => Buffer.from(bytes))),
  fc
    .tuple(tickCaseArb, headerArb, fc.nat({ max: 2 }), fc.uint8Array({ maxLength: 40 }))
    .map(([{ topic, record }, header, index, bytes]) => {
      const frames = [...encodeMessage(topic, header, encodeTickRecord(record))];
      frames[index] = Buffer.from(bytes);
      return frames;
    }),
  fc
    .tuple(tickCaseArb, headerArb, fc.nat({ max: 2 }), fc.nat(), fc.integer({ min: 0, max: 255 }))
    .map(([{ topic, record }, header, index, at, byte]) => {
      const frames = encodeMessage(topic, header, encodeTickRecord(record)).map((frame) => Buffer.from(frame));
      const frame = frames[index]!;
      if (frame.length > 0) frame[at % frame.length] = byte;
      return frames;
    }),
);

test('property: any frame array either decodes to a valid message or throws a WireError, never another exception', (t) => {
  holds(
    t,
    fc.property(framesArb, (frames) => {
      const result = outcome(() => decodeMessage(frames)); // rethrows anything that is not a WireError
      if (result !== 'ok') return true;
      const decoded = decodeMessage(frames);
      return frames.length === 3 && decoded.frames.every((frame, i) => frame === frames[i])
        && decoded.topic === frames[0]!.toString('ascii') && encodeHeader(decoded.header).equals(frames[1]!);
    }),
    { numRuns: 500 },
  );
});
