import test from 'ava';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { bookChecksum, type BookLevel } from '../../src/wire/index.js';
import { bestFirst } from '../wire/_books.js';

/**
 * The book checksum from another language: test/interop/book_checksum.py, written from PROTOCOL.md
 * section 8 with Python's own number formatting and zlib, must give bookChecksum's value for every
 * book, the awkward numbers included.
 */

/** Debian's interpreter, as the other interop tests use. */
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../interop/book_checksum.py', import.meta.url));
const BOOKS = 400;

/** Numbers where formatting goes wrong: float noise, ties at the tenth decimal, the tiny, the huge. */
const awkwardArb = fc.constantFrom(
  0, 1e-8, 0.00000001, 1e-9, 4e-10, 6e-10, 0.1 + 0.2, Math.round((0.1 + 0.2) * 100) / 100, 1 / 1024, 3 / 1024, 5 / 1024, 1023 / 1024,
  64000.5, 64000.75, 123456789.123456789, 1e15 + 0.5, 2 ** 53, 1e20, 1e21, 1.5e22, 1e23, -37.63, -1 / 1024, 0.000976562, 0.0009765625001,
);
/** Prices and sizes rounded to a tick or lot, as section 2 asks of a source. */
const roundedArb = fc
  .tuple(fc.double({ min: -1e6, max: 1e9, noNaN: true }), fc.constantFrom(0.01, 0.5, 0.0001, 1e-8, 0.25, 1))
  .map(([x, step]) => Math.round(Math.round(x / step) * step * 1e8) / 1e8);
const numberArb = fc.oneof(awkwardArb, roundedArb, fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e25, max: 1e25 }));

const sideArb = fc.uniqueArray(fc.tuple(numberArb, numberArb), { maxLength: 14, selector: ([price]) => price }) as fc.Arbitrary<BookLevel[]>;
const bookArb = fc.tuple(sideArb, sideArb).map(([bids, asks]) => ({ bids: bestFirst(bids, 'bids'), asks: bestFirst(asks, 'asks') }));

test(`book_checksum.py computes bookChecksum's value for ${BOOKS} random books`, (t) => {
  const books = fc.sample(bookArb, { numRuns: BOOKS, seed: 20251125 });
  const result = spawnSync(PYTHON, [SCRIPT], { input: books.map((book) => JSON.stringify(book)).join('\n'), encoding: 'utf8', timeout: 20_000 });
  t.is(result.status, 0, `book_checksum.py failed: ${result.error?.message ?? ''}\n${result.stderr}`);
  const theirs = result.stdout.trim().split('\n').map(Number);
  t.is(theirs.length, books.length);
  const mismatches = books.flatMap((book, i) => (bookChecksum(book.bids, book.asks) === theirs[i] ? [] : [{ book, ours: bookChecksum(book.bids, book.asks), theirs: theirs[i] }]));
  t.deepEqual(mismatches, []);
});

test('book_checksum.py agrees on the PROTOCOL.md section 8 example (3467268836)', (t) => {
  const example = { bids: [[64000.5, 1.2], [64000, 3]], asks: [[64001, 0.5]] };
  const result = spawnSync(PYTHON, [SCRIPT], { input: JSON.stringify(example), encoding: 'utf8', timeout: 20_000 });
  t.is(result.stdout.trim(), '3467268836', result.stderr);
});
