import type { StatusRecord, VenueState } from '../wire/index.js';

export interface VenueStatusOptions {
  /** A venue that is up turns stale after this long without a tick. */
  readonly staleAfterMs: number;
  /** Every venue's state is published again this often, so a late subscriber learns it. */
  readonly repeatMs: number;
}

export interface VenueStatusView {
  readonly venue: string;
  readonly state: VenueState;
  readonly reason: string;
  /** Date.now() of the newest tick, to the checker's resolution; undefined before the first. */
  readonly lastTickAt: number | undefined;
}

const UP_REASON = 'ticking';

interface Venue {
  readonly name: string;
  state: VenueState;
  reason: string;
  /** Ticks so far: the hot path only counts, the checker turns counts into times. */
  ticks: number;
  ticksAtCheck: number;
  lastTickAt: number | undefined;
  publishedAt: number;
}

/**
 * The `status.<venue>` channel of PROTOCOL.md section 1: `up` once a venue publishes, `stale`
 * after staleAfterMs without a tick, `down` while its adapter is disconnected or crashed and at
 * shutdown. Published on every change and repeated every repeatMs.
 */
export class VenueStatus {
  private readonly venues = new Map<string, Venue>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: VenueStatusOptions,
    private readonly publish: (status: StatusRecord) => void,
  ) {}

  start(): void {
    const checkMs = Math.max(20, Math.min(this.options.staleAfterMs, this.options.repeatMs) / 10);
    this.timer = setInterval(() => this.check(), checkMs);
  }

  /** Publishes every venue `down` (best effort, before the publisher closes) and stops repeating. */
  stop(reason: string): void {
    clearInterval(this.timer);
    for (const venue of this.venues.values()) this.change(venue, 'down', reason);
  }

  /** The hot path: one map lookup and a counter, a publish only when the venue was not up. */
  ticked(name: string): void {
    const venue = this.venues.get(name) ?? this.add(name, 'up', UP_REASON);
    venue.ticks++;
    if (venue.state !== 'up') {
      venue.lastTickAt = Date.now();
      venue.ticksAtCheck = venue.ticks;
      this.change(venue, 'up', UP_REASON);
    }
  }

  down(name: string, reason: string): void {
    const venue = this.venues.get(name) ?? this.add(name, 'down', reason);
    this.change(venue, 'down', reason);
  }

  /** Makes a venue known before its first tick, so it is reported (down) from the start. */
  declare(name: string): void {
    if (!this.venues.has(name)) this.add(name, 'down', 'no tick yet');
  }

  view(): VenueStatusView[] {
    return [...this.venues.values()].map(({ name, state, reason, lastTickAt }) => ({ venue: name, state, reason, lastTickAt }));
  }

  private add(name: string, state: VenueState, reason: string): Venue {
    const venue: Venue = { name, state, reason, ticks: 0, ticksAtCheck: 0, lastTickAt: undefined, publishedAt: Date.now() };
    this.venues.set(name, venue);
    this.publish({ venue: name, state, reason });
    return venue;
  }

  private change(venue: Venue, state: VenueState, reason: string): void {
    if (venue.state === state && venue.reason === reason) return;
    venue.state = state;
    venue.reason = reason;
    venue.publishedAt = Date.now();
    this.publish({ venue: venue.name, state, reason });
  }

  private check(): void {
    const now = Date.now();
    for (const venue of this.venues.values()) {
      if (venue.ticks !== venue.ticksAtCheck) {
        venue.ticksAtCheck = venue.ticks;
        venue.lastTickAt = now;
      }
      if (venue.state === 'up' && now - (venue.lastTickAt ?? now) >= this.options.staleAfterMs) {
        this.change(venue, 'stale', `no tick for ${this.options.staleAfterMs} ms`);
      } else if (now - venue.publishedAt >= this.options.repeatMs) {
        venue.publishedAt = now;
        this.publish({ venue: venue.name, state: venue.state, reason: venue.reason });
      }
    }
  }
}
