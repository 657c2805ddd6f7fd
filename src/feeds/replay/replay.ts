import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises';
import { UNMONITORED, type AdapterMonitor, type FeedAdapter, type RecordSink } from '../adapter.js';
import type { BookRecord } from '../../wire/index.js';
import { isCsvHeader, parseCsvLine, parseRecordedLine, type ReplayEntry } from './format.js';

export interface ReplayOptions {
  /** NDJSON written by `tickfan record`, or CSV when the name ends in .csv. */
  readonly file: string;
  /** Pace relative to the recording: 2 = twice as fast; 0 = as fast as possible. */
  readonly speed: number;
  /** Start over at the end of the file instead of stopping. */
  readonly loop: boolean;
}

/** At full speed, yield to the event loop after this many records so sockets and timers keep running. */
const RECORDS_PER_TURN = 1000;
/** Waits shorter than this are not worth a timer; the record goes out at once. */
const MIN_WAIT_MS = 1;
/** A line longer than this is malformed; reading stops buffering it. */
const MAX_LINE_CHARS = 1024 * 1024;

/**
 * Republishes a recorded file (ticks, books, trades) at its original pace times `speed`, or as
 * fast as possible, optionally looping. A malformed line is counted and reported with its line
 * number, then skipped. Each pass opens a book with its first snapshot in the file: updates
 * before it (a recording started while the book was live) are skipped and counted, and so a
 * looping replay never applies the file's updates on top of the end of the previous pass.
 */
export class ReplayFeed implements FeedAdapter {
  readonly name = 'replay';
  readonly venues: readonly string[] = [];
  readonly expectsTicks = false;
  private abort: AbortController | undefined;
  private running: Promise<void> | undefined;
  /** Records handed to the sink since construction. */
  emitted = 0;

  constructor(private readonly options: ReplayOptions) {
    if (!(Number.isFinite(options.speed) && options.speed >= 0)) throw new RangeError(`replay speed ${options.speed} must be a number >= 0`);
  }

  async start(sink: RecordSink, monitor: AdapterMonitor = UNMONITORED): Promise<void> {
    if (this.abort) throw new Error('replay is already started');
    await access(this.options.file).catch((err: Error) => {
      throw new Error(`replay file ${this.options.file} cannot be read: ${err.message}`);
    });
    const abort = new AbortController();
    this.abort = abort;
    monitor.connected();
    this.running = this.replay(sink, monitor, abort.signal).then(
      () => {
        if (!abort.signal.aborted) monitor.disconnected(`end of replay file ${this.options.file}`);
      },
      (err: Error) => {
        if (!abort.signal.aborted) monitor.guard(() => { throw err; });
      },
    );
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    this.abort = undefined;
    await this.running;
  }

  private async replay(sink: RecordSink, monitor: AdapterMonitor, signal: AbortSignal): Promise<void> {
    const csv = this.options.file.endsWith('.csv');
    do {
      let firstTs: number | undefined;
      let startedAt = 0;
      let sinceYield = 0;
      const openBooks = new Set<string>();
      for await (const { number, text } of lines(this.options.file, signal)) {
        if (text.trim() === '' || (csv && number === 1 && isCsvHeader(text))) continue;
        let entry: ReplayEntry;
        try {
          entry = csv ? parseCsvLine(text) : parseRecordedLine(text);
        } catch (err) {
          monitor.rejected('malformed_line', `${this.options.file} line ${number}: ${(err as Error).message}`);
          continue;
        }
        if (this.options.speed > 0) {
          if (firstTs === undefined) {
            firstTs = entry.ts;
            startedAt = performance.now();
          }
          const waitMs = startedAt + (entry.ts - firstTs) / 1000 / this.options.speed - performance.now();
          if (waitMs >= MIN_WAIT_MS) await sleep(waitMs, undefined, { signal }).catch(() => undefined);
        } else if (++sinceYield >= RECORDS_PER_TURN) {
          sinceYield = 0;
          await yieldToEventLoop();
        }
        if (signal.aborted) return;
        this.emitted++;
        if (entry.kind === 'book' && !opensOrContinues(openBooks, entry.record)) {
          monitor.rejected('book_before_snapshot', `${this.options.file} line ${number}: an update of ${entry.record.venue}.${entry.record.symbol} before its first snapshot in the file`);
          continue;
        }
        monitor.guard(() => publish(sink, entry));
      }
    } while (this.options.loop && !signal.aborted);
  }
}

function publish(sink: RecordSink, entry: ReplayEntry): void {
  switch (entry.kind) {
    case 'tick':
      return sink.tick(entry.record);
    case 'book':
      return void sink.book(entry.record);
    case 'trade':
      return sink.trade(entry.record);
  }
}

/** Whether a book record may go out in this pass: a snapshot opens its book, an update needs it open. */
function opensOrContinues(openBooks: Set<string>, record: BookRecord): boolean {
  const book = `${record.venue}.${record.symbol}`;
  if (record.action === 'snapshot') openBooks.add(book);
  return openBooks.has(book);
}

/**
 * The file's lines with their 1-based numbers, read with backpressure (a day's file is never
 * held whole). A line longer than MAX_LINE_CHARS comes out cut short (and so malformed).
 */
async function* lines(file: string, signal: AbortSignal): AsyncGenerator<{ number: number; text: string }> {
  let rest = '';
  let number = 0;
  let skippingLongLine = false;
  for await (const chunk of createReadStream(file, { encoding: 'utf8', signal })) {
    let text = chunk as string;
    if (skippingLongLine) {
      const end = text.indexOf('\n');
      if (end === -1) continue;
      text = text.slice(end + 1);
      skippingLongLine = false;
    }
    const parts = (rest + text).split('\n');
    rest = parts.pop()!;
    for (const line of parts) yield { number: ++number, text: line };
    if (rest.length > MAX_LINE_CHARS) {
      yield { number: ++number, text: rest.slice(0, MAX_LINE_CHARS) };
      rest = '';
      skippingLongLine = true;
    }
  }
  if (rest !== '') yield { number: ++number, text: rest };
}
