import { UNMONITORED, type AdapterMonitor, type FeedAdapter, type RecordSink } from '../adapter.js';
import { nowMicros } from '../../wire/index.js';
import { SnapshotSchedule } from '../snapshot-schedule.js';
import type { Instrument } from './instruments.js';
import { MarketSimulator, type MarketStep } from './market.js';

export interface SimulatedFeedOptions {
  instruments: readonly Instrument[];
  /** Steps per second over all instruments: one tick each, with its book record and trade when those are on. */
  rate: number;
  seed: number;
  /** Levels per side of each instrument's book on book.<venue>.<symbol>; 0 (the default): ticks only. */
  bookDepth?: number;
  /** Publish each step's trade on trade.<venue>.<symbol> (default false). */
  trades?: boolean;
  /** Each book's next record is a snapshot this often, the books spread over the interval; 0 (the default): never. */
  bookSnapshotIntervalMs?: number;
}

/** Short enough that even 200,000/s goes out in bursts of about a thousand records. */
const TIMER_MS = 5;
/**
 * One timer turn emits at most this much time's worth of records and spends at most this much
 * wall time doing so, so the event loop stays responsive after a stall or behind a slow sink.
 */
const MAX_BURST_MS = 20;
/**
 * Records due but not yet emitted are carried to later turns up to this much time's worth, so
 * ordinary event-loop stalls (GC, a large snapshot) cost no records; older ones are skipped.
 */
const MAX_BACKLOG_MS = 100;

/**
 * Emits MarketSimulator steps at a steady rate, paced against the clock rather than counted timer
 * turns. A step's records go out book first, then trade, then tick: a subscriber that takes the
 * tick finds the book and the last trade already at that tick's state.
 */
export class SimulatedFeed implements FeedAdapter {
  readonly name = 'simulated';
  readonly venues: readonly string[];
  readonly expectsTicks = true;
  readonly rate: number;
  private readonly market: MarketSimulator;
  private readonly instruments: readonly Instrument[];
  private readonly bookSnapshotIntervalMs: number;
  private snapshots: SnapshotSchedule<Instrument> | undefined;
  private readonly burstCap: number;
  private readonly backlogCap: number;
  private sink: RecordSink | undefined;
  private timer: NodeJS.Timeout | undefined;
  private startedAtMicros = 0;
  /** Records due since start() that were emitted or skipped. */
  private accounted = 0;
  private emittedCount = 0;
  private behindCount = 0;

  constructor(options: SimulatedFeedOptions) {
    if (!(Number.isFinite(options.rate) && options.rate > 0)) {
      throw new RangeError(`rate ${options.rate} is not a positive number of records per second`);
    }
    this.rate = options.rate;
    this.market = new MarketSimulator(options.instruments, options.seed, { bookDepth: options.bookDepth, trades: options.trades });
    this.instruments = options.instruments;
    this.bookSnapshotIntervalMs = (options.bookDepth ?? 0) > 0 ? (options.bookSnapshotIntervalMs ?? 0) : 0;
    this.venues = [...new Set(options.instruments.map((instrument) => instrument.venue))];
    this.burstCap = Math.max(1, Math.ceil((options.rate * MAX_BURST_MS) / 1000));
    this.backlogCap = Math.max(1, Math.ceil((options.rate * MAX_BACKLOG_MS) / 1000));
  }

  /** Steps (ticks) handed to the sink since construction, over all start/stop cycles. */
  get emitted(): number {
    return this.emittedCount;
  }

  /** Steps that fell due but were skipped because the feed could not keep up, since construction. */
  get behind(): number {
    return this.behindCount;
  }

  async start(sink: RecordSink, monitor: AdapterMonitor = UNMONITORED): Promise<void> {
    if (this.sink !== undefined) throw new Error('simulated feed is already started');
    this.sink = sink;
    // A run may have stopped between a step's records: every book starts this run afresh.
    this.market.resyncBooks();
    this.startedAtMicros = nowMicros();
    this.accounted = 0;
    this.timer = setInterval(() => monitor.guard(() => this.turn()), TIMER_MS);
    this.snapshots = new SnapshotSchedule(this.bookSnapshotIntervalMs, this.instruments, (instrument) => monitor.guard(() => this.market.resyncBook(instrument)));
    this.snapshots.start();
    monitor.connected();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.snapshots?.stop();
    this.sink = undefined;
  }

  private turn(): void {
    const sink = this.sink;
    if (sink === undefined) return;
    const turnStart = nowMicros();
    const due = Math.floor(((turnStart - this.startedAtMicros) * this.rate) / 1e6) - this.accounted;
    const burst = Math.min(due, this.burstCap);
    const deadline = turnStart + MAX_BURST_MS * 1000;
    let sent = 0;
    while (sent < burst) {
      const exchTs = nowMicros();
      if (exchTs > deadline) break;
      const stillRunning = this.emit(sink, this.market.step(exchTs));
      sent++;
      this.emittedCount++;
      this.accounted++;
      if (!stillRunning) return;
    }
    const skipped = due - sent - this.backlogCap;
    if (skipped > 0) {
      this.behindCount += skipped;
      this.accounted += skipped;
    }
  }

  /**
   * Hands one step's records to the sink; false when the sink stopped the feed meanwhile, after
   * which nothing may reach it, not even the rest of the step or of the burst.
   */
  private emit(sink: RecordSink, step: MarketStep): boolean {
    if (step.book !== undefined && !sink.book(step.book)) this.market.resyncBook(step.book);
    if (this.sink !== sink) return false;
    if (step.trade !== undefined) {
      sink.trade(step.trade);
      if (this.sink !== sink) return false;
    }
    sink.tick(step.tick);
    return this.sink === sink;
  }
}
