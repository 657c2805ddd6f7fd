import { OrderBook, type BookLevel, type BookSideName } from '../../../src/wire/index.js';

/** Prices in cents around this mid: bids below it, asks above, so the book never crosses. */
const MID_CENTS = 6_400_000;

/** A level as the exchanges write it: decimal strings, e.g. ["63999.99", "1.250"]. */
export type TextLevel = [price: string, size: string];

/** One change the mock made: the side, and the level with its new absolute size (0: gone). */
export interface TrueChange {
  readonly side: BookSideName;
  readonly level: TextLevel;
}

/**
 * A mock exchange's own order book, the truth an adapter's published book is checked against:
 * random changes drawn from a seeded generator, and the checksum of the top of the book after
 * each change, so that every published checksum can be found among the states it went through.
 */
export class TrueBook {
  readonly book = new OrderBook();
  /** The checksum of the book after each state, oldest first (index = the number of changes made). */
  readonly checksums: number[] = [];
  private seed: number;

  constructor(seed: number, levelsPerSide = 40) {
    this.seed = seed;
    const side = (sign: -1 | 1) => Array.from({ length: levelsPerSide }, (_, i) => level(MID_CENTS + sign * (i + 1), 1000 + i));
    this.book.apply({ venue: 'MOCK', symbol: 'MOCK', action: 'snapshot', bids: side(-1).map(toNumbers), asks: side(1).map(toNumbers), checksum: 0 });
    this.checksums.push(this.book.checksum());
  }

  /** The whole book, or its best `depth` levels, as exchange text. */
  levels(depth = Infinity): { bids: TextLevel[]; asks: TextLevel[] } {
    const { bids, asks } = this.book.top(depth);
    return { bids: bids.map(toText), asks: asks.map(toText) };
  }

  /** `count` random changes, up to `reach` cents from the mid (beyond the initial levels too), applied to the truth. */
  change(count = 3, reach = 50): TrueChange[] {
    const changes: TrueChange[] = [];
    for (let i = 0; i < count; i++) {
      const side: BookSideName = this.random(2) === 0 ? 'bids' : 'asks';
      const cents = MID_CENTS + (side === 'bids' ? -1 : 1) * (1 + this.random(reach));
      const lots = this.random(10) < 3 ? 0 : 1 + this.random(5000);
      changes.push({ side, level: level(cents, lots) });
    }
    const on = (side: BookSideName) => changes.filter((c) => c.side === side).map((c) => toNumbers(c.level));
    this.book.apply({ venue: 'MOCK', symbol: 'MOCK', action: 'update', bids: on('bids'), asks: on('asks'), checksum: 0 });
    this.checksums.push(this.book.checksum());
    return changes;
  }

  /** mulberry32: 0 .. below - 1. */
  private random(below: number): number {
    this.seed = (this.seed + 0x6d2b79f5) | 0;
    let t = this.seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * below);
  }
}

function level(cents: number, lots: number): TextLevel {
  return [(cents / 100).toFixed(2), (lots / 1000).toFixed(3)];
}

function toNumbers([price, size]: TextLevel): BookLevel {
  return [Number(price), Number(size)];
}

function toText([price, size]: BookLevel): TextLevel {
  return [price.toFixed(2), size.toFixed(3)];
}
