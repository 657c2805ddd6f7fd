/**
 * PROTOCOL.md section 8: the record of a `book.<venue>.<symbol>` topic and its validation.
 * Browser-safe (no Node import): the SDKs and the page keep books with these types.
 */
import { WireError } from './errors.js';
import { fieldError, isFiniteNumber, requireMatch, requireObject, requireOptionalMicros } from './fields.js';
import type { ParsedTopic } from './topic.js';

/** One price level: the price and the total size resting at it (0 in an update: the level went away). */
export type BookLevel = readonly [price: number, size: number];

export type BookAction = 'snapshot' | 'update';

/** The whole book (`snapshot`) or the levels that changed (`update`). Unknown extra fields pass through. */
export interface BookRecord {
  venue: string;
  symbol: string;
  action: BookAction;
  /** Best (highest price) first. */
  bids: readonly BookLevel[];
  /** Best (lowest price) first. */
  asks: readonly BookLevel[];
  /** CRC-32 of the book after this record is applied (checksum.ts). */
  checksum: number;
  /** Integer microseconds since the Unix epoch, the source's own clock. */
  exchTs?: number;
  [extra: string]: unknown;
}

export type BookSideName = 'bids' | 'asks';

const BOOK_ACTIONS: ReadonlySet<unknown> = new Set(['snapshot', 'update']);
const UINT32_MAX = 2 ** 32 - 1;

/** Whether price `a` is better than `b` on that side: higher for bids, lower for asks. */
export function isBetter(side: BookSideName, a: number, b: number): boolean {
  return side === 'bids' ? a > b : a < b;
}

export function validateBookRecord(topic: ParsedTopic, value: unknown): BookRecord {
  const record = requireObject(value);
  requireMatch(record, 'venue', topic.venue);
  requireMatch(record, 'symbol', topic.symbol);
  if (!BOOK_ACTIONS.has(record.action)) throw fieldError('action', record.action, '"snapshot" or "update"');
  const snapshot = record.action === 'snapshot';
  requireSide(record, 'bids', snapshot);
  requireSide(record, 'asks', snapshot);
  const checksum = record.checksum;
  if (!(Number.isInteger(checksum) && (checksum as number) >= 0 && (checksum as number) <= UINT32_MAX)) {
    throw fieldError('checksum', checksum, 'an unsigned 32-bit integer (CRC-32)');
  }
  requireOptionalMicros(record, 'exchTs');
  return record as BookRecord;
}

/**
 * One side's levels: [price, size] pairs of finite numbers, size >= 0 (> 0 in a snapshot, which lists
 * only levels held), best first with one level per price, so that every holder of the book can apply
 * them in one pass and two records meaning the same book are written alike.
 */
function requireSide(record: Record<string, unknown>, side: BookSideName, snapshot: boolean): void {
  const levels = record[side];
  if (!Array.isArray(levels)) throw fieldError(side, levels, 'an array of [price, size] levels');
  for (let i = 0; i < levels.length; i++) {
    const level: unknown = levels[i];
    const name = `${side}[${i}]`;
    if (!Array.isArray(level) || level.length !== 2) throw fieldError(name, level, 'a [price, size] pair');
    const [price, size] = level as [unknown, unknown];
    if (!isFiniteNumber(price)) throw fieldError(`${name} price`, price, 'a finite number');
    if (!(isFiniteNumber(size) && size >= 0)) throw fieldError(`${name} size`, size, 'a finite number >= 0');
    if (snapshot && size === 0) throw fieldError(`${name} size`, size, 'a size > 0: a snapshot lists only the levels held');
    if (i > 0) {
      const previous = (levels[i - 1] as BookLevel)[0];
      if (!isBetter(side, previous, price)) {
        throw new WireError(
          'record',
          `record field ${name} price ${price} is not ${side === 'bids' ? 'below' : 'above'} ${side}[${i - 1}]'s ${previous}: ${side} are best first, one level per price`,
        );
      }
    }
  }
}
