/**
 * The order books a client keeps (PROTOCOL.md section 8), shared by both SDKs: one OrderBook per
 * book topic, every record checked against its checksum, a book that stops matching dropped until
 * the client has taken its topic afresh. Browser-safe (no Node import): the WebSocket SDK uses it.
 */
import { OrderBook } from '../wire/book.js';
import type { BookLevel, BookRecord } from '../wire/book-record.js';
import type { Stamp } from '../wire/order.js';

/** A book as a client hands it out: read-only, following the topic while the client holds it. */
export interface BookView {
  readonly topic: string;
  /** Where the last record applied stands in its source's sequence. */
  readonly epoch: number;
  readonly seq: number;
  /** That record's publication time (header ts), microseconds since the Unix epoch. */
  readonly ts: number;
  /**
   * False once the client dropped this book (its checksum stopped matching, or the topic left the
   * client): it then no longer changes, and the client's book(topic) is another view, or undefined.
   */
  readonly held: boolean;
  /** Every bid level, best (highest) first. */
  bids(): BookLevel[];
  /** Every ask level, best (lowest) first. */
  asks(): BookLevel[];
  /** The best `depth` levels of each side. */
  top(depth: number): { bids: BookLevel[]; asks: BookLevel[] };
  /** CRC-32 of the top of the book, as a record's `checksum` (PROTOCOL.md section 8). */
  checksum(): number;
  /** Levels held per side. */
  readonly depth: { bids: number; asks: number };
}

/**
 * Why a book was dropped: its checksum did not match after a record (`checksum`), an update came
 * with no book to apply it to (`no_book`: a snapshot comes first), or a record was not a valid
 * book record (`invalid`, found by the WebSocket SDK, which gets records unvalidated).
 */
export type BookDropReason = 'checksum' | 'no_book' | 'invalid';

/** A book dropped because of the record at (epoch, seq), its topic to be taken afresh. */
export interface BookResync {
  readonly topic: string;
  readonly epoch: number;
  readonly seq: number;
  readonly reason: BookDropReason;
  /** What was wrong, naming the topic, epoch, seq and what did not match. */
  readonly message: string;
}

export type BookStep =
  | { readonly ok: true; readonly book: BookView }
  | { readonly ok: false; readonly reason: BookDropReason; readonly message: string };

/** What a caller may ask of a book but the holder alone may change. */
class HeldBook implements BookView {
  private readonly book = new OrderBook();
  epoch = 0;
  seq = 0;
  ts = 0;
  held = true;

  constructor(readonly topic: string) {}

  /** Applies a valid record at `stamp`; whether the book's checksum then matches the record's. */
  apply(stamp: Stamp, record: BookRecord): boolean {
    this.epoch = stamp.epoch;
    this.seq = stamp.seq;
    this.ts = stamp.ts;
    return this.book.apply(record);
  }

  bids(): BookLevel[] {
    return this.book.bids();
  }

  asks(): BookLevel[] {
    return this.book.asks();
  }

  top(depth: number): { bids: BookLevel[]; asks: BookLevel[] } {
    return this.book.top(depth);
  }

  checksum(): number {
    return this.book.checksum();
  }

  get depth(): { bids: number; asks: number } {
    return this.book.depth;
  }
}

/**
 * The books of one client, by topic. The caller orders records (wire/order.ts) and hands each new
 * one of a book topic to apply(); a book that cannot take it is dropped, and its topic stays
 * `renewing` until a snapshot record builds it again: the caller then takes the topic afresh (a
 * snapshot from its source), and meanwhile book() is undefined, never a wrong book.
 */
export class BookShelf {
  private readonly books = new Map<string, HeldBook>();
  private readonly dropped = new Set<string>();

  /** The topic's book, while one matches its source. */
  book(topic: string): BookView | undefined {
    return this.books.get(topic);
  }

  /** Topics whose book was dropped and waits for a snapshot record. */
  get renewing(): ReadonlySet<string> {
    return this.dropped;
  }

  /** Applies the topic's next valid record at `stamp`: a snapshot (re)builds the book, an update changes it. */
  apply(topic: string, stamp: Stamp, record: BookRecord): BookStep {
    let book = this.books.get(topic);
    if (book === undefined) {
      if (record.action === 'update') return this.drop(topic, stamp, 'no_book', 'an update with no book to apply it to (a snapshot comes first)');
      this.books.set(topic, (book = new HeldBook(topic)));
      this.dropped.delete(topic);
    }
    if (book.apply(stamp, record)) return { ok: true, book };
    return this.drop(topic, stamp, 'checksum', `the book's checksum after this ${record.action} is ${book.checksum()}, the record says ${record.checksum}`);
  }

  /** Drops the topic's book, which then waits for a snapshot record, because of the record at `stamp`; `what` was wrong. */
  drop(topic: string, stamp: Stamp, reason: BookDropReason, what: string): BookStep & { ok: false } {
    this.release(topic);
    this.dropped.add(topic);
    return { ok: false, reason, message: `${topic} epoch ${stamp.epoch} seq ${stamp.seq}: ${what}` };
  }

  /** Forgets every topic, its book or its wait for one, that `keep` says has left the client. */
  retain(keep: (topic: string) => boolean): void {
    for (const topic of [...this.books.keys(), ...this.dropped]) {
      if (keep(topic)) continue;
      this.release(topic);
      this.dropped.delete(topic);
    }
  }

  private release(topic: string): void {
    const book = this.books.get(topic);
    if (book !== undefined) book.held = false;
    this.books.delete(topic);
  }
}
