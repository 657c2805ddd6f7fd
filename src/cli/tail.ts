import type { BookView } from '../client/books.js';
import { LineSet, TickSubscriber, type Update } from '../client/zmq/index.js';
import { lineOptions } from '../config/index.js';
import { FabricSecurity } from '../curve/index.js';
import type { TickfanConfig } from './config.js';
import { createLogger, ThrottledWarning, type Logger } from '../log/index.js';
import { nowMicros, type AnyRecord, type BookLevel } from '../wire/index.js';
import { onShutdownSignal } from './shutdown.js';

export interface TailOptions {
  readonly prefix: string;
  /** Exit after this many lines; forever when undefined. */
  readonly count?: number | undefined;
  /** One JSON object per line instead of the human-readable line. */
  readonly json: boolean;
  /** Print the current state of every matching topic first (from the snapshot service), then live changes. */
  readonly snapshot: boolean;
}

/** Levels of each side a book line shows. */
export const BOOK_LINE_DEPTH = 5;
const BOOK_PREFIX = 'book.';

/** What one printed line shows, from a live message or an applied update. */
interface Line {
  readonly topic: string;
  readonly epoch: number;
  readonly seq: number;
  readonly ts: number;
  readonly record: AnyRecord;
  readonly source: 'snapshot' | 'replay' | 'live';
}

/**
 * `tickfan tail PREFIX`: the decoded stream on stdout, one line per message; for a prefix of book
 * topics, the top of each book, one line each time it changes.
 */
export async function tail(config: TickfanConfig, options: TailOptions): Promise<void> {
  const log = createLogger(config.log.level);
  // A book is built from its snapshot, so book topics are always followed as state.
  const source = options.snapshot || options.prefix.startsWith(BOOK_PREFIX) ? followState(config, options, log) : followLive(config, options, log);
  onShutdownSignal(log, () => source.close());
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    // A closed pipe (`tickfan tail ... | head`) is a normal way to stop reading.
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  log.info({ endpoints: config.connect.backend, prefix: options.prefix, snapshot: options.snapshot }, 'tailing');
  let printed = 0;
  for await (const text of source.lines) {
    process.stdout.write(text);
    if (options.count !== undefined && ++printed >= options.count) break;
  }
  await source.close();
}

/** Lines to print, and how to stop them: closing the socket ends a wait for a quiet stream. */
interface LineSource {
  readonly lines: AsyncIterable<string>;
  close(): Promise<void>;
}

function followLive(config: TickfanConfig, options: TailOptions, log: Logger): LineSource {
  const warnings = new ThrottledWarning(log);
  const stream = new LineSet({
    ...lineOptions(config),
    endpoints: config.connect.backend,
    prefixes: [options.prefix],
    curve: FabricSecurity.open(config.curve, log).clientKeys(),
    onReject: (err) => warnings.warn(err.reason, {}, `message dropped: ${err.message}`),
  });
  async function* lines(): AsyncGenerator<string> {
    for await (const { topic, header, record } of stream) yield recordLine({ topic, ...header, record, source: 'live' }, options.json);
  }
  return { lines: lines(), close: async () => stream.close() };
}

function followState(config: TickfanConfig, options: TailOptions, log: Logger): LineSource {
  const warnings = new ThrottledWarning(log);
  const subscriber = new TickSubscriber({
    ...lineOptions(config),
    endpoint: config.connect.backend,
    prefix: options.prefix,
    snapshotEndpoints: config.connect.snapshot,
    snapshotTimeoutMs: config.connect.snapshotTimeoutMs,
    curve: FabricSecurity.open(config.curve, log).clientKeys(),
    onBookResync: (resync) => warnings.warn(resync.reason, { topic: resync.topic }, `book dropped, taking it afresh from a snapshot: ${resync.message}`),
  });
  return {
    lines: stateLines(subscriber, options),
    async close() {
      await subscriber.close();
      log.info({ counters: subscriber.counters, failovers: subscriber.failovers }, 'tail stopped');
    },
  };
}

/** What stateLines reads: a TickSubscriber, or a stand-in in tests. */
export interface StateSource extends AsyncIterable<Update> {
  readonly ready: Promise<void>;
  book(topic: string): BookView | undefined;
}

/**
 * The lines of a followed state: a record line per update, and for a book topic a book line each
 * time the top of its book changes. Without `snapshot`, only what changes after the initial
 * snapshot is printed.
 */
export async function* stateLines(subscriber: StateSource, options: Pick<TailOptions, 'json' | 'snapshot'>): AsyncGenerator<string> {
  if (!options.snapshot) await subscriber.ready;
  const shown = new Map<string, string>();
  for await (const update of subscriber) {
    if (!update.topic.startsWith(BOOK_PREFIX)) {
      yield recordLine(update, options.json);
      continue;
    }
    const line = bookLine(update, subscriber.book(update.topic), options.json);
    // A change below the levels shown leaves the line as it was.
    if (shown.get(update.topic) === line.top) continue;
    shown.set(update.topic, line.top);
    yield line.text;
  }
}

function recordLine({ topic, epoch, seq, ts, record, source }: Line, json: boolean): string {
  const latencyUs = nowMicros() - ts;
  if (json) return `${JSON.stringify({ topic, epoch, seq, ts, latencyUs, source, record })}\n`;
  return `${linePrefix(topic, epoch, seq, latencyUs, source)} ${JSON.stringify(record)}\n`;
}

/** A book's top after an update, or that the book is dropped; `top` is what it shows, to tell whether it changed. */
function bookLine({ topic, epoch, seq, ts, source }: Update, book: BookView | undefined, json: boolean): { top: string; text: string } {
  const latencyUs = nowMicros() - ts;
  if (book === undefined) {
    const text = json
      ? `${JSON.stringify({ topic, epoch, seq, ts, latencyUs, source, dropped: true })}\n`
      : `${linePrefix(topic, epoch, seq, latencyUs, source)} no book: waiting for a fresh snapshot\n`;
    return { top: 'dropped', text };
  }
  const { bids, asks } = book.top(BOOK_LINE_DEPTH);
  const checksum = book.checksum();
  const top = JSON.stringify([bids, asks]);
  if (json) return { top, text: `${JSON.stringify({ topic, epoch, seq, ts, latencyUs, source, bids, asks, checksum })}\n` };
  return { top, text: `${linePrefix(topic, epoch, seq, latencyUs, source)} bids ${side(bids)} | asks ${side(asks)}\n` };
}

function linePrefix(topic: string, epoch: number, seq: number, latencyUs: number, source: Line['source']): string {
  const marker = source === 'live' ? '' : ` [${source}]`;
  return `${topic} epoch=${epoch} seq=${seq} latency=${(latencyUs / 1000).toFixed(3)}ms${marker}`;
}

/** Levels best first as `size@price`, or `-` for an empty side. */
function side(levels: readonly BookLevel[]): string {
  return levels.length === 0 ? '-' : levels.map(([price, size]) => `${size}@${price}`).join(' ');
}
