/**
 * What a client does with books, done in full by a few "checking" clients of a books case: every
 * book event they receive is validated and applied to the client's books (the SDKs' BookShelf),
 * and the book's checksum must then match the record's, merged updates of a conflating client
 * included. The other clients only sample (sample-check.ts): a full book per topic for each of
 * 1,000 clients would make the load side heavier than the gateway that keeps one per topic.
 */
import { BookShelf } from '../../src/client/books.js';
import { WireError, parseTopic, validateBookRecord, type BookRecord } from '../../src/wire/index.js';

/** What the checking clients found over a step: the records and merges that arrived inside the window (as `received`), and mismatches. */
export interface BookCounts {
  /** Book records (snapshot and tick events of book topics) applied by the checking clients. */
  readonly applied: number;
  /**
   * Records after which the book did not match their checksum, or that could not be applied at
   * all, over the whole step (warm-up, window and grace): a book must never be wrong.
   */
  readonly mismatches: number;
  /** Tick events that moved a book more than one seq: merged updates of the records a conflating client missed. */
  readonly merged: number;
  /** The records those merged events stood for. */
  readonly mergedRecords: number;
  /** Of the merged events, those that were the whole book (a snapshot record): the client was further behind than the gateway's history. */
  readonly wholeBooks: number;
  /** The first mismatch's problem, when there was one. */
  readonly problem: string | undefined;
}

/** The book counts of every checking client of a load process, over a step. */
export class BookTally implements BookCounts {
  applied = 0;
  mismatches = 0;
  merged = 0;
  mergedRecords = 0;
  wholeBooks = 0;
  problem: string | undefined;

  reset(): void {
    this.applied = 0;
    this.mismatches = 0;
    this.merged = 0;
    this.mergedRecords = 0;
    this.wholeBooks = 0;
    this.problem = undefined;
  }

  mismatch(problem: string): void {
    this.mismatches++;
    this.problem ??= problem;
  }
}

interface BookEvent {
  readonly type: string;
  readonly topic: string;
  readonly epoch: number;
  readonly seq: number;
  readonly ts: number;
  readonly data: unknown;
}

/** One checking client's books. */
export class BookCheck {
  private readonly shelf = new BookShelf();

  constructor(private readonly tally: BookTally) {}

  /**
   * The events of one frame, already parsed and checked for their fields (SampleCheck.frame).
   * `counted`: it arrived inside the window; every frame is applied, so the window's records find their books.
   */
  events(events: readonly unknown[], counted: boolean): void {
    // An event without its fields has already failed SampleCheck; it is not applied.
    for (const value of events) {
      const event = value as Partial<BookEvent> | null;
      if ((event?.type === 'snapshot' || event?.type === 'tick') && typeof event.topic === 'string' && event.topic.startsWith('book.')) this.apply(event as BookEvent, counted);
    }
  }

  private apply({ topic, epoch, seq, ts, data }: BookEvent, counted: boolean): void {
    let record: BookRecord;
    try {
      record = validateBookRecord(parseTopic(topic), data);
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      return this.tally.mismatch(`${topic} seq ${seq}: not a valid book record: ${err.message}`);
    }
    const held = this.shelf.book(topic);
    if (counted) {
      this.tally.applied++;
      if (held !== undefined && held.epoch === epoch && seq > held.seq + 1) {
        this.tally.merged++;
        this.tally.mergedRecords += seq - held.seq;
        if (record.action === 'snapshot') this.tally.wholeBooks++;
      }
    }
    const step = this.shelf.apply(topic, { epoch, seq, ts }, record);
    if (!step.ok) this.tally.mismatch(step.message);
  }
}
