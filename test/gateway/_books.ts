/**
 * Book sources and book-keeping clients of the gateway's book tests (not a test file itself): a
 * source that publishes random level changes with correct checksums, and a client that keeps a
 * book from the events it receives and checks every one, as PROTOCOL.md section 8 asks of it.
 */
import { OrderBook, type BookLevel, type BookRecord } from '../../src/wire/index.js';
import { bestFirst, BookModel } from '../wire/_books.js';

/** A small seeded PRNG (mulberry32): a failing run can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Price levels on a grid of `GRID` steps per side, so updates meet the levels earlier records made. */
const GRID = 60;

/** One instrument's book as its source keeps it: every record it makes is valid and carries the book's checksum. */
export class BookSource {
  private readonly model = new BookModel();

  constructor(
    readonly venue: string,
    readonly symbol: string,
    private readonly random: () => number,
    /** Extra fields every record carries (passed through verbatim, PROTOCOL.md section 2). */
    private readonly extra: Record<string, unknown> = {},
  ) {}

  /** A snapshot record of the book; `fresh` first replaces it with new random levels (a source resyncing). */
  snapshot(fresh = false): BookRecord {
    if (fresh) {
      this.model.apply({ ...this.base(), action: 'snapshot', bids: this.levels('bids', 12, false), asks: this.levels('asks', 12, false), checksum: 0 });
    }
    const { bids, asks } = this.model.sorted();
    return { ...this.base(), action: 'snapshot', bids, asks, checksum: this.model.checksum(), ...this.extra };
  }

  /** An update record of a few random level changes (size 0 removes a level, held or not). */
  update(): BookRecord {
    const record: BookRecord = { ...this.base(), action: 'update', bids: this.levels('bids', 4, true), asks: this.levels('asks', 4, true), checksum: 0, ...this.extra };
    this.model.apply(record);
    record.checksum = this.model.checksum();
    return record;
  }

  /** The book now, as text to compare with a client's: every level, best first. */
  get book(): string {
    return JSON.stringify(this.model.sorted());
  }

  get checksum(): number {
    return this.model.checksum();
  }

  private base(): Pick<BookRecord, 'venue' | 'symbol'> {
    return { venue: this.venue, symbol: this.symbol };
  }

  private levels(side: 'bids' | 'asks', most: number, removals: boolean): BookLevel[] {
    const levels = new Map<number, number>();
    const count = 1 + Math.floor(this.random() * most);
    for (let i = 0; i < count; i++) {
      const step = 1 + Math.floor(this.random() * GRID);
      const price = side === 'bids' ? 100 - step * 0.5 : 100 + step * 0.5;
      const size = removals && this.random() < 0.3 ? 0 : Math.round((1 + Math.floor(this.random() * 50)) * 0.1 * 10) / 10;
      levels.set(price, size);
    }
    return bestFirst([...levels], side);
  }
}

/** A data event as a client receives it. */
export interface BookEvent {
  readonly type: string;
  readonly topic?: string;
  readonly epoch?: number;
  readonly seq?: number;
  readonly data?: unknown;
}

/** A client's book of one topic, kept from its events: the first must be a snapshot event, and each must leave the book at its checksum. */
export class ClientBook {
  private readonly book = new OrderBook();
  private started = false;
  events = 0;
  seq = 0;
  epoch = 0;

  /** Applies one snapshot or tick event; throws when the book does not match the event's checksum after it. */
  apply(event: BookEvent): void {
    if (!this.started && event.type !== 'snapshot') throw new Error(`the first event of ${event.topic} is a ${event.type} event, not a snapshot`);
    this.started = true;
    const record = event.data as BookRecord;
    if (event.type === 'tick' && event.epoch === this.epoch && event.seq! <= this.seq) throw new Error(`${event.topic}: seq ${event.seq} after ${this.seq}`);
    if (!this.book.apply(record)) throw new Error(`${event.topic}: the book after the ${event.type} event at seq ${event.seq} does not match its checksum ${record.checksum}`);
    this.events++;
    this.seq = event.seq!;
    this.epoch = event.epoch!;
  }

  /** Every level, best first, as BookSource.book writes it. */
  get levels(): string {
    return JSON.stringify({ bids: this.book.bids(), asks: this.book.asks() });
  }

  get checksum(): number {
    return this.book.checksum();
  }
}
