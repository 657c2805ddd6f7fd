import test from 'ava';
import fc from 'fast-check';
import { FLAG_SNAPSHOT, HEADER_BYTES, WIRE_VERSION, decodeHeader, encodeHeader, writeHeader, type Header, type RejectReason } from '../../src/wire/index.js';
import { headerArb, holds, outcome, throwsWire, validHeader } from './_helpers.js';

test('constants match PROTOCOL.md section 3', (t) => {
  t.is(HEADER_BYTES, 24);
  t.is(WIRE_VERSION, 1);
  t.is(FLAG_SNAPSHOT, 0b1);
});

const vectors: readonly { name: string; header: Header; bytes: number[] }[] = [
  {
    name: 'distinct bytes in every field',
    header: { flags: 1, epoch: 0xdeadbeef, seq: 0x0001_0203_0405_0607, ts: 0x000a_0b0c_0d0e_0f10 },
    // prettier-ignore
    bytes: [
      0x01, 0x01, 0x00, 0x00,
      0xde, 0xad, 0xbe, 0xef,
      0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
      0x00, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
    ],
  },
  {
    name: 'the largest values',
    header: { flags: 0, epoch: 2 ** 32 - 1, seq: 2 ** 53 - 1, ts: 2 ** 53 - 1 },
    // prettier-ignore
    bytes: [
      0x01, 0x00, 0x00, 0x00,
      0xff, 0xff, 0xff, 0xff,
      0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ],
  },
  {
    name: 'the smallest values',
    header: { flags: 0, epoch: 1, seq: 1, ts: 0 },
    // prettier-ignore
    bytes: [
      0x01, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x01,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ],
  },
];

for (const { name, header, bytes } of vectors) {
  test(`encodes the big-endian layout byte by byte: ${name}`, (t) => {
    const encoded = encodeHeader(header);
    t.is(encoded.length, HEADER_BYTES);
    bytes.forEach((byte, i) => t.is(encoded[i], byte, `byte ${i}`));
  });

  test(`decodes the known vector: ${name}`, (t) => {
    t.deepEqual(decodeHeader(Buffer.from(bytes)), header);
  });
}

test('writeHeader fills a reused buffer completely, zeroing the reserved bytes', (t) => {
  const buf = Buffer.alloc(HEADER_BYTES, 0xff);
  writeHeader(buf, validHeader);
  t.deepEqual(buf, encodeHeader(validHeader));
  t.is(buf.readUInt16BE(2), 0);
});

test('property: decodeHeader(encodeHeader(h)) equals h for flags 0|1, epoch 1..2^32-1, seq 1..2^53-1, ts 0..2^53-1', (t) => {
  holds(
    t,
    fc.property(headerArb, (header) => {
      const encoded = encodeHeader(header);
      const decoded = decodeHeader(encoded);
      return encoded.length === HEADER_BYTES && decoded.flags === header.flags && decoded.epoch === header.epoch
        && decoded.seq === header.seq && decoded.ts === header.ts;
    }),
    { examples: [[{ flags: 1, epoch: 2 ** 32 - 1, seq: 2 ** 53 - 1, ts: 2 ** 53 - 1 }], [{ flags: 0, epoch: 1, seq: 1, ts: 0 }]] },
  );
});

/** A valid encoded header with one change applied. */
function headerWith(change: (buf: Buffer) => void): Buffer {
  const buf = encodeHeader(validHeader);
  change(buf);
  return buf;
}
const setUint64 = (offset: number, value: bigint) => (buf: Buffer) => buf.writeBigUInt64BE(value, offset);

const rejections: readonly { why: string; bytes: Buffer; reason: RejectReason; mentions: string }[] = [
  { why: 'it is empty', bytes: Buffer.alloc(0), reason: 'header', mentions: '0 bytes' },
  { why: 'it is short (23 bytes)', bytes: encodeHeader(validHeader).subarray(0, 23), reason: 'header', mentions: '23 bytes' },
  { why: 'it is long (25 bytes)', bytes: Buffer.concat([encodeHeader(validHeader), Buffer.alloc(1)]), reason: 'header', mentions: '25 bytes' },
  { why: 'version is 0', bytes: headerWith((b) => (b[0] = 0)), reason: 'version', mentions: 'version is 0' },
  { why: 'version is 2', bytes: headerWith((b) => (b[0] = 2)), reason: 'version', mentions: 'version is 2' },
  { why: 'flag bit 1 is set', bytes: headerWith((b) => (b[1] = 0x02)), reason: 'flags', mentions: 'flags 0x2' },
  { why: 'flag bit 7 is set with bit 0', bytes: headerWith((b) => (b[1] = 0x81)), reason: 'flags', mentions: 'flags 0x81' },
  { why: 'reserved byte 2 is not zero', bytes: headerWith((b) => (b[2] = 1)), reason: 'reserved', mentions: 'reserved' },
  { why: 'reserved byte 3 is not zero', bytes: headerWith((b) => (b[3] = 0x80)), reason: 'reserved', mentions: 'reserved' },
  { why: 'epoch is 0', bytes: headerWith((b) => b.writeUInt32BE(0, 4)), reason: 'epoch', mentions: 'epoch' },
  { why: 'seq is 0', bytes: headerWith(setUint64(8, 0n)), reason: 'seq', mentions: 'seq' },
  { why: 'seq is 2^53', bytes: headerWith(setUint64(8, 2n ** 53n)), reason: 'seq', mentions: 'seq' },
  { why: 'seq is 2^64-1', bytes: headerWith(setUint64(8, 2n ** 64n - 1n)), reason: 'seq', mentions: 'seq' },
  { why: 'ts is 2^53', bytes: headerWith(setUint64(16, 2n ** 53n)), reason: 'ts', mentions: 'ts' },
  { why: 'ts is 2^63', bytes: headerWith(setUint64(16, 2n ** 63n)), reason: 'ts', mentions: 'ts' },
];

for (const { why, bytes, reason, mentions } of rejections) {
  test(`rejects a header when ${why} (reason '${reason}')`, (t) => {
    throwsWire(t, () => decodeHeader(bytes), reason, mentions);
  });
}

test('property: any flags byte with a bit other than bit 0 set is rejected as flags', (t) => {
  holds(
    t,
    fc.property(fc.integer({ min: 2, max: 255 }), (flags) => outcome(() => decodeHeader(headerWith((b) => (b[1] = flags)))) === 'flags'),
  );
});

test('property: seq or ts of 2^53 or more is rejected with that field as reason', (t) => {
  const tooBig = fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n });
  holds(
    t,
    fc.property(fc.constantFrom(['seq', 8] as const, ['ts', 16] as const), tooBig, ([field, offset], value) =>
      outcome(() => decodeHeader(headerWith(setUint64(offset, value)))) === field),
  );
});

test('property: any 24 bytes either decode to a header that re-encodes to the same bytes, or throw a WireError', (t) => {
  // Valid headers with a few bytes overwritten reach every check; fully random bytes mostly stop early.
  const mutatedArb = fc
    .tuple(headerArb, fc.array(fc.tuple(fc.nat({ max: HEADER_BYTES - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }))
    .map(([header, changes]) => mutate(encodeHeader(header), changes));
  const randomArb = fc.uint8Array({ minLength: HEADER_BYTES, maxLength: HEADER_BYTES }).map((u) => Buffer.from(u));
  holds(
    t,
    fc.property(fc.oneof(mutatedArb, randomArb), (bytes) => {
      if (outcome(() => decodeHeader(bytes)) !== 'ok') return true;
      return encodeHeader(decodeHeader(bytes)).equals(bytes);
    }),
  );
});

function mutate(buf: Buffer, changes: readonly (readonly [index: number, byte: number])[]): Buffer {
  for (const [index, byte] of changes) buf[index] = byte;
  return buf;
}
