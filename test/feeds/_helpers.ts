import type { AdapterMonitor, FeedAdapter } from '../../src/feeds/adapter.js';
import type { MockExchange } from './mocks/mock-server.js';
import type { BookRecord, TickRecord, TradeRecord } from '../../src/wire/index.js';
import { Conditions } from '../helpers/conditions.js';

export type MonitorEvent =
  | { kind: 'connected' }
  | { kind: 'disconnected'; reason: string }
  | { kind: 'reconnecting' }
  | { kind: 'gap'; count: number }
  | { kind: 'rejected'; reason: string; detail: string }
  | { kind: 'crash'; error: string };

/**
 * Runs one adapter the way the supervisor would, but keeps everything it reports: its
 * records, its monitor events, and exceptions from its guarded callbacks (as crash events).
 */
export class AdapterProbe {
  /** The tick records. */
  readonly records: TickRecord[] = [];
  readonly books: BookRecord[] = [];
  /** performance.now() of each book record, by index. */
  readonly bookTimes: number[] = [];
  /** Book records the sink refuses (book() returns false), by their index in `books`; kept in `books` all the same. */
  readonly refusedBooks = new Set<number>();
  readonly trades: TradeRecord[] = [];
  readonly events: MonitorEvent[] = [];
  /** performance.now() of each event, by index. */
  readonly times: number[] = [];
  readonly conditions = new Conditions();
  readonly monitor: AdapterMonitor;

  constructor(readonly adapter: FeedAdapter) {
    const note = (event: MonitorEvent) => {
      this.events.push(event);
      this.times.push(performance.now());
      this.conditions.check();
    };
    this.monitor = {
      connected: () => note({ kind: 'connected' }),
      disconnected: (reason) => note({ kind: 'disconnected', reason }),
      reconnecting: () => note({ kind: 'reconnecting' }),
      upstreamGap: (count = 1) => note({ kind: 'gap', count }),
      rejected: (reason, detail) => note({ kind: 'rejected', reason, detail }),
      guard: (callback) => {
        try {
          callback();
        } catch (err) {
          note({ kind: 'crash', error: (err as Error).stack ?? String(err) });
        }
      },
    };
  }

  start(): Promise<void> {
    const keep = <R>(into: R[]) => (record: R) => {
      into.push(record);
      this.conditions.check();
    };
    const book = keep(this.books);
    return this.adapter.start({
      tick: keep(this.records),
      book: (record) => {
        this.bookTimes.push(performance.now());
        book(record);
        return !this.refusedBooks.has(this.books.length - 1);
      },
      trade: keep(this.trades),
    }, this.monitor);
  }

  stop(): Promise<void> {
    return this.adapter.stop();
  }

  count(kind: MonitorEvent['kind']): number {
    return this.events.filter((e) => e.kind === kind).length;
  }

  timesOf(kind: MonitorEvent['kind']): number[] {
    return this.times.filter((_, i) => this.events[i]!.kind === kind);
  }

  rejectReasons(): string[] {
    return this.events.flatMap((e) => (e.kind === 'rejected' ? [e.reason] : []));
  }

  until(done: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return this.conditions.until(done, timeoutMs, () => `${what}; events so far: ${JSON.stringify(this.events)}`);
  }

  recordCount(n: number): Promise<void> {
    return this.until(() => this.records.length >= n, `${n} records (have ${this.records.length})`);
  }
}

/** Short reconnect delays, so tests see several attempts quickly. */
export const FAST_BACKOFF = { minDelayMs: 20, maxDelayMs: 200, jitter: 0.5 };

/**
 * An exchange adapter made by `adapter(url)` for the mock `exchange`, started and connected.
 * `ready` says when the connection counts as up (Coinbase: subscribed).
 */
export async function onMockExchange<E extends MockExchange>(exchange: E, adapter: (url: string) => FeedAdapter, ready: () => Promise<void>) {
  await exchange.listening;
  const probe = new AdapterProbe(adapter(exchange.url));
  await probe.start();
  await ready();
  await probe.until(() => probe.count('connected') === 1, 'connected');
  return {
    exchange, probe,
    async tearDown() {
      await probe.stop();
      await exchange.close();
    },
  };
}
