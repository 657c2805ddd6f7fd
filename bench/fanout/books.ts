/**
 * The fan-out bench's book traffic (PROTOCOL.md section 8): 100 order books, one per interest
 * group (book.BENCH.G00-S0000 .. book.BENCH.G99-S0099), each opening with a snapshot of 50
 * levels a side and then updates of 1-4 changed levels, mostly within the ten the checksum
 * covers, as absolute sizes (0 removes a level), each with the checksum of the book after it.
 *
 * Every record is made up front, its checksum taken from an OrderBook per book that applies it
 * as every holder of the book does: the feed must stay far cheaper than the gateway it loads,
 * and a checksum per record (40 numbers formatted, a CRC-32 of the string) at 20,000 records/s
 * would add a good share of a core to it on this 2-core machine. So that a finite set of
 * updates can go on forever on the one snapshot, a book's updates are a closed cycle: random
 * updates, then each one's inverse (its levels at their sizes before it) in reverse order,
 * which brings the book back to the snapshot's.
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { CHECKSUM_DEPTH, OrderBook, bookTopic, type BookLevel, type BookRecord, type BookSideName } from '../../src/wire/index.js';
import { VENUE, symbolOf } from './instruments.js';

export const BOOKS = 100;
/** Every book topic of the bench: what each client of a books case subscribes to. */
export const BOOK_PATTERN = `${bookTopic(VENUE, '')}*`;

/** Levels a side in the snapshot. */
const DEPTH = 50;
/** Price positions a side that updates touch: some beyond the snapshot's depth, so levels also come and go at the edge. */
const POSITIONS = 60;
/** Random updates per book before their inverses: 500 records a book per cycle, 50,000 in all. */
const FORWARD_UPDATES = 250;
const MAX_CHANGES = 4;
/** Of an update's changes, this share falls within the top CHECKSUM_DEPTH levels (the rest anywhere). */
const NEAR_TOP_SHARE = 0.75;
/** Of the changes to a level held, this share removes it (the rest give it a new size). */
const REMOVE_SHARE = 0.2;
/** Prices on a 0.05 grid, sizes in lots of 0.5: written in cents and lots, divided once, so no float noise reaches the wire. */
const TICK_CENTS = 5;
const LOT = 0.5;
const MAX_LOTS = 80;
const EXCH_TS = 1_764_070_000_000_000;
/** Fixed, so every run offers the same books. */
const SEED = 16;

/** One book's records: its snapshot, sent once, then its cycle of updates, round and round. */
class BenchBook {
  /** The cycle's next record; -1 while the snapshot is still to go. */
  private at = -1;

  constructor(
    private readonly snapshot: BookRecord,
    private readonly cycle: readonly BookRecord[],
  ) {}

  get opened(): boolean {
    return this.at >= 0;
  }

  next(): BookRecord {
    if (this.at < 0) {
      this.at = 0;
      return this.snapshot;
    }
    const record = this.cycle[this.at]!;
    this.at = (this.at + 1) % this.cycle.length;
    return record;
  }
}

/** The records of all books, round-robin: each book's next record in turn. */
export class BookTraffic {
  private readonly books: BenchBook[];
  private nextBook = 0;

  constructor() {
    const rng = xoroshiro128plus(SEED);
    this.books = Array.from({ length: BOOKS }, (_, i) => makeBook(i, rng));
  }

  /** The snapshots of the books not opened yet, which opens them: each book's first record. */
  openings(): BookRecord[] {
    return this.books.filter((book) => !book.opened).map((book) => book.next());
  }

  next(): BookRecord {
    const record = this.books[this.nextBook]!.next();
    this.nextBook = (this.nextBook + 1) % BOOKS;
    return record;
  }
}

/** A book's levels as the generator sees them: lots by price position, 0 where none (position 0 is the best price). */
type Lots = Record<BookSideName, Int32Array>;

function makeBook(index: number, rng: RandomGenerator): BenchBook {
  const symbol = symbolOf(index);
  // Ask best at the base price, bid best a tick below: the sides never cross.
  const baseCents = (100 + index) * 100;
  const price = (side: BookSideName, position: number): number =>
    (side === 'bids' ? baseCents - TICK_CENTS * (position + 1) : baseCents + TICK_CENTS * position) / 100;
  const levelsOf = (side: BookSideName, positions: readonly number[], lotsAt: (position: number) => number): BookLevel[] =>
    positions.map((position) => [price(side, position), lotsAt(position) * LOT]);

  const lots: Lots = { bids: new Int32Array(POSITIONS), asks: new Int32Array(POSITIONS) };
  const held = Array.from({ length: DEPTH }, (_, position) => position);
  for (const side of ['bids', 'asks'] as const) for (const position of held) lots[side][position] = uniformInt(rng, 1, MAX_LOTS);
  const book = new OrderBook();
  const snapshot = withChecksum(book, {
    venue: VENUE, symbol, action: 'snapshot', checksum: 0, exchTs: EXCH_TS,
    bids: levelsOf('bids', held, (p) => lots.bids[p]!), asks: levelsOf('asks', held, (p) => lots.asks[p]!),
  });

  const forward: BookRecord[] = [];
  /** Each forward update's levels at their sizes before it, by position. */
  const undo: Record<BookSideName, Map<number, number>>[] = [];
  for (let step = 0; step < FORWARD_UPDATES; step++) {
    const changes = pickChanges(rng);
    const before = { bids: new Map<number, number>(), asks: new Map<number, number>() };
    for (const side of ['bids', 'asks'] as const) {
      for (const position of changes[side]) {
        before[side].set(position, lots[side][position]!);
        lots[side][position] = newLots(lots[side][position]!, rng);
      }
    }
    undo.push(before);
    forward.push(withChecksum(book, {
      venue: VENUE, symbol, action: 'update', checksum: 0, exchTs: EXCH_TS + step,
      bids: levelsOf('bids', changes.bids, (p) => lots.bids[p]!), asks: levelsOf('asks', changes.asks, (p) => lots.asks[p]!),
    }));
  }
  const backward = undo.reverse().map(({ bids, asks }, k) => withChecksum(book, {
    venue: VENUE, symbol, action: 'update', checksum: 0, exchTs: EXCH_TS + FORWARD_UPDATES + k,
    bids: levelsOf('bids', [...bids.keys()], (p) => bids.get(p)!), asks: levelsOf('asks', [...asks.keys()], (p) => asks.get(p)!),
  }));
  if (book.checksum() !== snapshot.checksum) throw new Error(`${symbol}: the cycle of updates does not bring the book back to its snapshot`);
  return new BenchBook(snapshot, [...forward, ...backward]);
}

/** 1-MAX_CHANGES distinct price positions, spread over the sides, each side's best first (as a record lists levels). */
function pickChanges(rng: RandomGenerator): Record<BookSideName, number[]> {
  const picked = { bids: new Set<number>(), asks: new Set<number>() };
  const changes = uniformInt(rng, 1, MAX_CHANGES);
  while (picked.bids.size + picked.asks.size < changes) {
    const side = uniformInt(rng, 0, 1) === 0 ? 'bids' : 'asks';
    const nearTop = uniformInt(rng, 0, 99) < NEAR_TOP_SHARE * 100;
    picked[side].add(uniformInt(rng, 0, (nearTop ? CHECKSUM_DEPTH : POSITIONS) - 1));
  }
  return { bids: [...picked.bids].sort((a, b) => a - b), asks: [...picked.asks].sort((a, b) => a - b) };
}

/** A level's lots after a change: a held level is removed or resized, an empty position gets a level. */
function newLots(current: number, rng: RandomGenerator): number {
  if (current > 0 && uniformInt(rng, 0, 99) < REMOVE_SHARE * 100) return 0;
  return uniformInt(rng, 1, MAX_LOTS);
}

/** `record` applied to `book`, with the checksum of the book after it. */
function withChecksum(book: OrderBook, record: BookRecord): BookRecord {
  book.apply(record);
  record.checksum = book.checksum();
  return record;
}
