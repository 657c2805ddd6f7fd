import { backoffDelay, type BackoffOptions } from '../util/backoff.js';
import type { Logger } from '../log/index.js';
import { ThrottledWarning } from '../log/index.js';
import type { InstrumentClass } from '../wire/index.js';
import { sinkOf, type AdapterMonitor, type FeedAdapter, type InstrumentRecords, type RecordSink } from './adapter.js';
import type { PublishRefusal } from './publisher.js';
import type { VenueStatus } from './venue-status.js';

export interface SupervisorOptions {
  readonly backoff: BackoffOptions;
  /** Restart an adapter that says it is connected but has sent no tick for this long; 0: never. */
  readonly stallMs: number;
}

/** Plain numbers per adapter for metrics; read it, do not keep it (a fresh copy each call). */
export interface AdapterState {
  readonly name: string;
  readonly venues: readonly string[];
  /** Running and connected upstream. */
  readonly up: boolean;
  readonly restarts: number;
  /** Records of every class (ticks, books, trades) that went out. */
  readonly ticks: number;
  /** Date.now() of the newest tick, to the stall checker's resolution; undefined before the first. */
  readonly lastTickAt: number | undefined;
  readonly rejected: Readonly<Record<string, number>>;
  readonly upstreamGaps: number;
  readonly reconnects: number;
}

/** Publishes one record of a class for a source; undefined when it went out, else why not (see TickPublisher.offer). */
export type Deliver = <K extends InstrumentClass>(kind: K, record: InstrumentRecords[K], source: string) => PublishRefusal | undefined;

const STALL_CHECKS_PER_PERIOD = 4;
/** How often lastTickAt is brought up to date when stall detection is off. */
const IDLE_CHECK_MS = 1000;

/**
 * Runs one adapter: restarts it with backoff after a crash (an exception in its callbacks or a
 * stall), keeps its metrics, and drives its venues' status. Every callback of a run is bound
 * to that run, so a stopped run's stray timer or socket event reaches nothing.
 */
export class AdapterSupervisor {
  private running = false;
  private connected = false;
  private restarts = 0;
  private ticks = 0;
  private ticksAtCheck = 0;
  private lastTickAt: number | undefined;
  private quietSince = 0;
  private upstreamGaps = 0;
  private reconnects = 0;
  private readonly rejected = new Map<string, number>();
  /** Venues this adapter has published, for marking them down when it fails. */
  private readonly seenVenues = new Set<string>();
  private attempt = 0;
  private startedAt = 0;
  private run = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private readonly warnings: ThrottledWarning;

  constructor(
    readonly adapter: FeedAdapter,
    private readonly options: SupervisorOptions,
    private readonly deliver: Deliver,
    private readonly status: VenueStatus,
    private readonly log: Logger,
  ) {
    this.warnings = new ThrottledWarning(log);
    for (const venue of adapter.venues) {
      this.seenVenues.add(venue);
      status.declare(venue);
    }
  }

  /**
   * Starts the adapter. A failed start (an ingest port in use, an unreadable replay file) is a
   * crash like any other: logged and retried with backoff, never the end of the other feeds.
   */
  async start(): Promise<void> {
    await this.startRun().catch((err: Error) => this.crash(this.run, `start failed: ${err.message}`));
    const checkMs = this.options.stallMs > 0 ? this.options.stallMs / STALL_CHECKS_PER_PERIOD : IDLE_CHECK_MS;
    this.stallTimer = setInterval(() => this.checkStall(), checkMs);
  }

  async stop(): Promise<void> {
    this.run++;
    this.running = false;
    clearTimeout(this.restartTimer);
    clearInterval(this.stallTimer);
    await this.adapter.stop();
  }

  state(): AdapterState {
    return {
      name: this.adapter.name,
      venues: [...this.seenVenues],
      up: this.running && this.connected,
      restarts: this.restarts,
      ticks: this.ticks,
      lastTickAt: this.lastTickAt,
      rejected: Object.fromEntries(this.rejected),
      upstreamGaps: this.upstreamGaps,
      reconnects: this.reconnects,
    };
  }

  private async startRun(): Promise<void> {
    const run = ++this.run;
    this.running = true;
    this.connected = false;
    this.startedAt = this.quietSince = Date.now();
    await this.adapter.start(this.sinkFor(run), this.monitorFor(run));
  }

  /** Every class counts as the venue's sign of life: a book that keeps changing is not stale. */
  private sinkFor(run: number): RecordSink {
    const { status, deliver, adapter } = this;
    return sinkOf((kind, record) => {
      if (run !== this.run) return false;
      const refusal = deliver(kind, record, adapter.name);
      if (refusal === undefined) {
        this.ticks++;
        if (!this.seenVenues.has(record.venue)) this.seenVenues.add(record.venue);
        status.ticked(record.venue);
      } else if (refusal !== 'dropped') {
        this.countRejected(refusal);
      }
      return refusal === undefined;
    });
  }

  private monitorFor(run: number): AdapterMonitor {
    const current = () => run === this.run;
    return {
      connected: () => {
        if (!current()) return;
        this.connected = true;
        this.quietSince = Date.now();
        this.log.info({ adapter: this.adapter.name }, 'feed connected');
      },
      disconnected: (reason) => {
        if (!current()) return;
        this.connected = false;
        this.markDown(`disconnected: ${reason}`);
        this.log.warn({ adapter: this.adapter.name, reason }, 'feed disconnected');
      },
      reconnecting: () => {
        if (current()) this.reconnects++;
      },
      upstreamGap: (count = 1) => {
        if (current()) this.upstreamGaps += count;
      },
      rejected: (reason, detail) => {
        if (!current()) return;
        this.countRejected(reason);
        this.warnings.warn(reason, { adapter: this.adapter.name }, `upstream message rejected: ${detail}`);
      },
      guard: (callback) => {
        if (!current()) return;
        try {
          callback();
        } catch (err) {
          this.crash(run, err instanceof Error ? err.message : String(err));
        }
      },
    };
  }

  private countRejected(reason: string): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
  }

  private markDown(reason: string): void {
    for (const venue of this.seenVenues) this.status.down(venue, reason);
  }

  /** Stops the failed run and schedules a new one after a backoff that grows while runs keep failing quickly. */
  private crash(run: number, reason: string): void {
    if (run !== this.run || !this.running) return;
    this.run++;
    this.running = false;
    this.connected = false;
    // A run that lasted longer than the longest backoff was healthy: start backing off afresh.
    if (Date.now() - this.startedAt > this.options.backoff.maxDelayMs) this.attempt = 0;
    const delayMs = backoffDelay(++this.attempt, this.options.backoff);
    this.markDown(`adapter failed: ${reason}`);
    this.warnings.warn('crash', { adapter: this.adapter.name, reason, restartInMs: delayMs, attempt: this.attempt }, 'feed adapter failed, restarting');
    const stopped = this.adapter.stop().catch((err: Error) => this.log.error({ adapter: this.adapter.name, err: err.message }, 'feed adapter stop failed'));
    const stopRun = this.run;
    this.restartTimer = setTimeout(() => {
      void stopped.then(() => {
        if (stopRun !== this.run) return;
        this.restarts++;
        return this.startRun().catch((err: Error) => this.crash(this.run, `restart failed: ${err.message}`));
      });
    }, delayMs);
  }

  private checkStall(): void {
    const now = Date.now();
    if (this.ticks !== this.ticksAtCheck) {
      this.ticksAtCheck = this.ticks;
      this.lastTickAt = this.quietSince = now;
      return;
    }
    const stalled = this.options.stallMs > 0 && this.adapter.expectsTicks && now - this.quietSince >= this.options.stallMs;
    if (stalled && this.running && this.connected) {
      this.crash(this.run, `stalled: no tick for ${this.options.stallMs} ms while connected`);
    }
  }
}
