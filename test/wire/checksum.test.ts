import zlib from 'node:zlib';
import test from 'ava';
import fc from 'fast-check';
import { CHECKSUM_DEPTH, bookChecksum, checksumString, crc32, formatLevelNumber, type BookLevel } from '../../src/wire/index.js';
import { holds } from './_helpers.js';

// Known CRC-32 (IEEE) vectors, as zlib.crc32 and Python's zlib.crc32 give them.
const vectors: readonly [string, number][] = [
  ['', 0],
  ['123456789', 0xcbf43926],
  ['a', 0xe8b7be43],
  ['The quick brown fox jumps over the lazy dog', 0x414fa339],
];

for (const [text, expected] of vectors) {
  test(`crc32(${JSON.stringify(text)}) is 0x${expected.toString(16)}`, (t) => {
    t.is(crc32(text), expected);
  });
}

/** The CRC bit by bit, straight from the polynomial: a second implementation to check the table against. */
function bitwiseCrc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

test('property: crc32 is the unsigned CRC-32 of the UTF-8 bytes, as the bitwise definition gives it', (t) => {
  holds(t, fc.property(fc.string({ unit: 'grapheme' }), (text) => crc32(text) === bitwiseCrc32(Buffer.from(text, 'utf8'))));
});

// A third opinion: zlib's own (Node >= 20.15, as package.json's engines ask). The browser has none, hence crc32.
const zlibCrc32 = (zlib as unknown as { crc32: (data: Buffer) => number }).crc32;
test('property: crc32 agrees with node:zlib crc32', (t) => {
  holds(t, fc.property(fc.string({ unit: 'grapheme' }), (text) => crc32(text) === zlibCrc32(Buffer.from(text, 'utf8'))));
});

const formats: readonly [number, string][] = [
  [64000.5, '64000.5'],
  [3, '3'],
  [0.00000001, '0.00000001'],
  [100, '100'],
  [0, '0'],
  [-0, '0'],
  [-1e-10, '0'],
  [4e-10, '0'],
  [6e-10, '0.000000001'],
  [0.1 + 0.2, '0.3'],
  [1.2345678915, '1.234567892'],
  [-37.63, '-37.63'],
  [123456789.123456789, '123456789.123456791'],
  // Exact ties at the tenth decimal (odd multiples of 2^-10) round to even, as Python's format does.
  [1 / 1024, '0.000976562'],
  [-1 / 1024, '-0.000976562'],
  [3 / 1024, '0.002929688'],
  [1e21, '1000000000000000000000'],
  [-1e23, '-99999999999999991611392'],
];

for (const [x, expected] of formats) {
  test(`formatLevelNumber(${Object.is(x, -0) ? '-0' : x}) is "${expected}"`, (t) => {
    t.is(formatLevelNumber(x), expected);
  });
}

test('checksumString of the PROTOCOL.md section 8 snapshot example and its CRC (also computed by test/interop/book_checksum.py)', (t) => {
  const bids: BookLevel[] = [[64000.5, 1.2], [64000, 3]];
  const asks: BookLevel[] = [[64001, 0.5]];
  t.is(checksumString(bids, asks), '64000.5:1.2,64000:3|64001:0.5');
  t.is(bookChecksum(bids, asks), 3467268836);
});

test('checksumString: an empty side is the empty string', (t) => {
  t.is(checksumString([], []), '|');
  t.is(checksumString([[1, 2]], []), '1:2|');
  t.is(checksumString([], [[1, 2]]), '|1:2');
});

test(`checksumString covers only the top ${CHECKSUM_DEPTH} levels of each side`, (t) => {
  const bids = Array.from({ length: 15 }, (_, i): BookLevel => [100 - i, 1]);
  const asks = Array.from({ length: 15 }, (_, i): BookLevel => [101 + i, 2]);
  t.is(checksumString(bids, asks), checksumString(bids.slice(0, 10), asks.slice(0, 10)));
  t.is(checksumString(bids, asks).split('|')[0], '100:1,99:1,98:1,97:1,96:1,95:1,94:1,93:1,92:1,91:1');
});

test('property: formatLevelNumber is a plain decimal with at most 9 decimals, no trailing zero, within 5e-10 of the number', (t) => {
  holds(
    t,
    fc.property(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e15, max: 1e15 }), (x) => {
      const text = formatLevelNumber(x);
      return /^-?(0|[1-9]\d*)(\.\d{0,8}[1-9])?$/.test(text) && text !== '-0' && Math.abs(Number(text) - x) <= 5e-10 + Math.abs(x) * 2 ** -52;
    }),
  );
});
