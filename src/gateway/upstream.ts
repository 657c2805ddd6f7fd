import { lineProbe, TickSubscriber, type LineSet, type LineStatus, type Update } from '../client/zmq/index.js';
import type { CurveClientKeys } from '../curve/index.js';
import { ThrottledWarning, type Logger } from '../log/index.js';
import type { RejectReason } from '../wire/index.js';
import { addCounts } from '../util/counts.js';

export interface UpstreamOptions {
  /** The proxy backends, one per line (A/B). */
  readonly backends: readonly string[];
  readonly arbitrationMs: number;
  /** ZMTP heartbeats of the line probes. */
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly snapshotEndpoints: readonly string[];
  readonly snapshotTimeoutMs: number;
  readonly receiveHwm: number;
  /** How long a prefix stays followed after its last client left, so a quick reconnect resumes from history. */
  readonly lingerMs: number;
  /** CurveZMQ keys of every fabric connection (PROTOCOL.md section 7); plain without. */
  readonly curve?: CurveClientKeys | undefined;
}

interface Feed {
  readonly subscriber: TickSubscriber;
  refs: number;
  /** Its initial snapshot is applied: the cache holds the prefix's state. */
  ready: boolean;
  /** Pending release while no client wants the prefix. */
  release?: NodeJS.Timeout;
}

/**
 * The gateway's interest in the fabric, following its clients' interest the ZeroMQ way:
 * one late-joining subscriber (clone pattern: subscribe, snapshot, repair) per prefix that
 * some client's pattern needs, opened on first use and closed when the last client leaves,
 * so an idle gateway receives nothing and feeds send only what someone wants.
 *
 * Overlapping prefixes each keep their own subscriber; the cache downstream keeps only the
 * newest seq of a topic, so an update arriving twice is applied once.
 */
export class Upstream {
  private readonly feeds = new Map<string, Feed>();
  /**
   * One subscriber per line without subscriptions, so the gateway knows which lines are up (ZMTP
   * heartbeats) even while no client wants anything and so nothing flows.
   */
  private readonly probe: LineSet;
  /** Counts of subscribers already released, so the totals never go down. */
  private readonly releasedRejects = new Map<RejectReason, number>();
  private readonly releasedDuplicates = new Map<string, number>();
  private readonly releasedOverruns = new Map<string, number>();
  private readonly releasedHoles = { filled: 0, expired: 0 };
  private readonly releasedRepairs = new Map<UpstreamRepair, number>();
  private readonly warnings: ThrottledWarning;

  constructor(
    private readonly options: UpstreamOptions,
    private readonly onUpdate: (update: Update) => void,
    /** Told when a prefix is no longer followed, so what was held for it can go. */
    private readonly onRelease: (prefix: string) => void,
    private readonly log: Logger,
    /** Told when the first line comes up or the last one goes down. */
    private readonly onFabric: (up: boolean) => void = () => {},
  ) {
    this.warnings = new ThrottledWarning(log);
    this.probe = lineProbe(options.backends, { intervalMs: options.heartbeatIntervalMs, timeoutMs: options.heartbeatTimeoutMs, curve: options.curve }, log, onFabric);
  }

  /** Whether at least one line to the fabric is connected. */
  get connected(): boolean {
    return this.probe.anyUp;
  }

  /** Each line: up or not, and the duplicate copies it brought and the messages it overran over every prefix followed. */
  lines(): LineStatus[] {
    const duplicates = new Map(this.releasedDuplicates);
    const overruns = new Map(this.releasedOverruns);
    for (const feed of this.feeds.values()) {
      const lines = feed.subscriber.lines();
      addCounts(duplicates, lines.map((line) => [line.endpoint, line.duplicates] as const));
      addCounts(overruns, lines.map((line) => [line.endpoint, line.overruns] as const));
    }
    return this.probe.lines().map((line) => ({ ...line, duplicates: duplicates.get(line.endpoint) ?? 0, overruns: overruns.get(line.endpoint) ?? 0 }));
  }

  /** Seq jumps on a line, filled by another line in time or expired into gaps, over every prefix followed. */
  holes(): { filled: number; expired: number } {
    const total = { ...this.releasedHoles };
    for (const feed of this.feeds.values()) addHoles(total, feed.subscriber.holes());
    return total;
  }

  /** Prefixes followed, including ones lingering after their last client left. */
  get prefixes(): string[] {
    return [...this.feeds.keys()];
  }

  /** Prefixes whose state is fully held, so questions about them can be answered from memory. */
  get readyPrefixes(): string[] {
    return [...this.feeds].filter(([, feed]) => feed.ready).map(([prefix]) => prefix);
  }

  /** Messages from the fabric (live, snapshot and replay replies) that broke the contract, by reason: dropped. */
  get rejected(): Map<RejectReason, number> {
    const total = new Map(this.releasedRejects);
    for (const feed of this.feeds.values()) addCounts(total, feed.subscriber.rejected);
    return total;
  }

  /** How the subscribers kept their state whole, summed over every prefix followed: see UPSTREAM_REPAIRS. */
  get repairs(): Map<UpstreamRepair, number> {
    const total = new Map(this.releasedRepairs);
    for (const feed of this.feeds.values()) addCounts(total, repairCounts(feed.subscriber));
    return total;
  }

  /** Takes a reference on `prefix`; resolves once its state is held (its snapshot applied). */
  async want(prefix: string): Promise<void> {
    let feed = this.feeds.get(prefix);
    if (feed === undefined) {
      const subscriber = new TickSubscriber({
        endpoint: this.options.backends,
        arbitrationMs: this.options.arbitrationMs,
        prefix,
        snapshotEndpoints: this.options.snapshotEndpoints,
        snapshotTimeoutMs: this.options.snapshotTimeoutMs,
        receiveHwm: this.options.receiveHwm,
        curve: this.options.curve,
        onReject: (err) => this.warnings.warn(err.reason, { prefix }, `message from the fabric dropped: ${err.message}`),
      });
      feed = { subscriber, refs: 0, ready: false };
      this.feeds.set(prefix, feed);
      void this.pump(prefix, subscriber);
      this.log.info({ prefix }, 'upstream subscribed');
    }
    clearTimeout(feed.release);
    feed.release = undefined;
    feed.refs++;
    try {
      await feed.subscriber.ready;
      feed.ready = true;
    } catch (err) {
      this.unwant(prefix);
      throw err;
    }
  }

  /** Releases a reference on `prefix`; the last one releases the prefix after the linger time. */
  unwant(prefix: string): void {
    const feed = this.feeds.get(prefix);
    if (feed === undefined || --feed.refs > 0) return;
    if (this.options.lingerMs === 0) return this.release(prefix, feed);
    feed.release = setTimeout(() => this.release(prefix, feed), this.options.lingerMs);
    feed.release.unref();
  }

  async close(): Promise<void> {
    this.probe.close();
    for (const feed of this.feeds.values()) clearTimeout(feed.release);
    const closing = [...this.feeds.values()].map((feed) => feed.subscriber.close());
    this.feeds.clear();
    await Promise.all(closing);
  }

  private release(prefix: string, feed: Feed): void {
    this.feeds.delete(prefix);
    addCounts(this.releasedRejects, feed.subscriber.rejected);
    const lines = feed.subscriber.lines();
    addCounts(this.releasedDuplicates, lines.map((line) => [line.endpoint, line.duplicates] as const));
    addCounts(this.releasedOverruns, lines.map((line) => [line.endpoint, line.overruns] as const));
    addHoles(this.releasedHoles, feed.subscriber.holes());
    addCounts(this.releasedRepairs, repairCounts(feed.subscriber));
    void feed.subscriber.close();
    this.log.info({ prefix }, 'upstream unsubscribed');
    this.onRelease(prefix);
  }

  private async pump(prefix: string, subscriber: TickSubscriber): Promise<void> {
    try {
      await subscriber.forEach(this.onUpdate);
    } catch (err) {
      this.log.error({ prefix, err: (err as Error).message }, 'upstream subscriber failed');
    }
  }
}

/**
 * The subscriber counters an operator watches: gaps seen and how each was closed (REPLAY, a
 * fresh snapshot, or skipped when no service answered: the last two are seq jumps clients
 * see), state found behind by a check, source restarts, and live messages dropped because a
 * subscriber already held its receiveHwm of them behind a repair (each then a gap), and books
 * whose checksum failed and were taken afresh from a snapshot.
 */
export const UPSTREAM_REPAIRS = ['gapsDetected', 'gapsRepaired', 'resnapshots', 'gapsSkipped', 'verifyRepairs', 'resets', 'heldOverruns', 'bookResyncs'] as const;
export type UpstreamRepair = (typeof UPSTREAM_REPAIRS)[number];

function repairCounts(subscriber: TickSubscriber): Map<UpstreamRepair, number> {
  return new Map(UPSTREAM_REPAIRS.map((name) => [name, subscriber.counters[name]]));
}

function addHoles(into: { filled: number; expired: number }, from: { readonly filled: number; readonly expired: number }): void {
  into.filled += from.filled;
  into.expired += from.expired;
}

