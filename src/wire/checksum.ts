/**
 * PROTOCOL.md section 8: the checksum a book record carries, CRC-32 of the top of the book after the
 * record. Browser-safe (no Node import, no Buffer): every SDK checks books with this module.
 */
import type { BookLevel } from './book-record.js';

/** The levels per side the checksum covers. */
export const CHECKSUM_DEPTH = 10;

/** The 256-entry table of the reflected IEEE 802.3 polynomial, as zlib builds it. */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

const utf8 = new TextEncoder();

/** CRC-32 (IEEE 802.3, zlib's `crc32`), unsigned, of the UTF-8 bytes of `text`. */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (const byte of utf8.encode(text)) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * A price or size as the checksum writes it: 9 decimals, then trailing zeros and a trailing point
 * removed (64000.5 -> "64000.5", 3 -> "3", 1e-8 -> "0.00000001"). The rule is Python's
 * `format(x, '.9f')` (round half to even on an exact tie), with two choices of tickfan's where
 * languages differ: a number that is 0 at 9 decimals is "0", never "-0" (JSON keeps -0, and
 * toFixed and Python disagree on it), and |x| >= 1e21 is written in full, not in exponent form.
 */
export function formatLevelNumber(x: number): string {
  // toFixed switches to exponent notation from 1e21; every double that large is an integer.
  if (Math.abs(x) >= 1e21) return BigInt(x).toString();
  const text = halfEvenFixed9(x).replace(/\.?0+$/, '');
  return text === '-0' ? '0' : text;
}

/**
 * x.toFixed(9) rounds an exact tie away from zero, Python (and C's printf) to even. An exact tie at
 * the tenth decimal is an odd multiple of 2^-10 (x * 10^9 = m + 1/2 holds for a double only then);
 * toFixed then ends in an odd digit half the time, and one less is the even neighbour, never a carry.
 */
function halfEvenFixed9(x: number): string {
  const text = x.toFixed(9);
  const scaled = x * 1024;
  if (!(Number.isInteger(scaled) && scaled % 2 !== 0)) return text;
  const last = text.charCodeAt(text.length - 1) - 48;
  return last % 2 === 0 ? text : text.slice(0, -1) + String(last - 1);
}

/** The string the checksum covers: `B|A`, the top levels of each side best first, `price:size` joined by `,`. */
export function checksumString(bids: readonly BookLevel[], asks: readonly BookLevel[]): string {
  return `${sideString(bids)}|${sideString(asks)}`;
}

function sideString(levels: readonly BookLevel[]): string {
  const parts: string[] = [];
  for (let i = 0; i < levels.length && i < CHECKSUM_DEPTH; i++) {
    const [price, size] = levels[i]!;
    parts.push(`${formatLevelNumber(price)}:${formatLevelNumber(size)}`);
  }
  return parts.join(',');
}

/** The checksum of a book whose sides are `bids` and `asks`, each best first. */
export function bookChecksum(bids: readonly BookLevel[], asks: readonly BookLevel[]): number {
  return crc32(checksumString(bids, asks));
}
