import type { WebSocket } from 'ws';
import { BucketHistogram } from '../metrics/index.js';
import { nowMicros } from '../wire/index.js';
import { FrameBuilder, type OutboundEvent } from './frames.js';
import type { Session } from './session.js';

/** A client as the flusher sees it: its session, its socket, and whether it waits for the next pass. */
export interface Flushable {
  readonly session: Session;
  readonly socket: WebSocket;
  /** Listed for the next flush pass. */
  dirty: boolean;
}

export interface FlusherOptions {
  /** Least time between two flush passes (0: every event-loop turn, spaced further under load). */
  readonly flushIntervalMs: number;
  /** Sample each frame's latency into `latency` (off only to measure what it costs). */
  readonly measureLatency: boolean;
}

/** The next flush pass waits this many times as long as the last one took. */
const FLUSH_SPACING = 3;
/** 50 microseconds to 5 s, seconds. */
const LATENCY_BUCKETS_SECONDS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * When queued events leave for the clients. Clients with something queued are listed once and
 * flushed together in a pass, where clients with the same pending events share one frame. A
 * pass costs about one socket write per client whatever the frames carry, so the next pass
 * waits FLUSH_SPACING times as long as this one took (and at least flushIntervalMs): under
 * load flushing keeps to a bounded share of the time and frames grow instead; when quiet, a
 * pass follows every turn.
 */
export class Flusher<Client extends Flushable> {
  /** Header ts to hand-off to the socket, sampled one event per frame (see sample). */
  readonly latency = new BucketHistogram(
    'tickfan_gateway_tick_latency_seconds',
    'Tick latency from the header ts to the hand-off of its frame to the client socket, sampled one event per frame weighted by the frame\'s events.',
    LATENCY_BUCKETS_SECONDS,
  );
  private dirty: Client[] = [];
  /**
   * Clients left with events pending by their last flush (their socket was full, so they are
   * behind): flushPending retries these. Scanning every client for pending events instead
   * was most of an idle gateway's CPU (bench:connections).
   */
  private readonly waiting = new Set<Client>();
  private scheduled = false;
  /** performance.now() before which the next pass should not start. */
  private nextPassAt = 0;
  private sampleCursor = 0;
  private readonly passNow = (): void => this.pass();

  constructor(private readonly options: FlusherOptions) {}

  /** Lists `client` for the next pass, scheduling one if none is. */
  markDirty(client: Client): void {
    if (client.dirty) return;
    client.dirty = true;
    this.dirty.push(client);
    if (this.scheduled) return;
    this.scheduled = true;
    const wait = this.nextPassAt - performance.now();
    if (wait <= 0) setImmediate(this.passNow);
    else setTimeout(this.passNow, wait);
  }

  /** Sends what `client` has pending now, outside a pass (before a close, say). */
  flush(client: Client, frames?: FrameBuilder): void {
    if (client.socket.readyState !== client.socket.OPEN) {
      this.waiting.delete(client);
      return;
    }
    const sent = client.session.flush(frames);
    if (sent !== undefined && this.options.measureLatency) this.sample(sent);
    if (client.session.hasNews) this.waiting.add(client);
    else this.waiting.delete(client);
  }

  /**
   * Flushes every client with something pending, without looking at the others: those listed
   * for the next pass, now (under load passes are spaced out, and this bounds how long an
   * event waits for one: without it p50 at 1,000 clients rose from ~22 to ~60 ms in
   * bench:fanout allinone-1000), and those that were behind (`waiting`), once their socket may
   * have drained.
   */
  flushPending(): void {
    if (this.dirty.length > 0) this.pass();
    const frames = new FrameBuilder();
    for (const client of this.waiting) this.flush(client, frames);
  }

  /** Flushes every client with something pending (before closing them all). */
  flushAll(clients: Iterable<Client>): void {
    const frames = new FrameBuilder();
    for (const client of clients) if (client.session.hasNews) this.flush(client, frames);
  }

  private pass(): void {
    // Run early by flushPending, the pass scheduled still comes, and finds nothing (or what came since).
    this.scheduled = false;
    const started = performance.now();
    const dirty = this.dirty;
    this.dirty = [];
    const frames = new FrameBuilder();
    for (const client of dirty) {
      client.dirty = false;
      this.flush(client, frames);
    }
    this.nextPassAt = started + Math.max(this.options.flushIntervalMs, (performance.now() - started) * FLUSH_SPACING);
  }

  /**
   * Observes the ts-to-hand-off latency of one event of a frame, weighted by the frame's event
   * count: an unbiased picture of every event's latency at the cost of one observation per frame.
   */
  private sample(events: readonly OutboundEvent[]): void {
    const event = events[this.sampleCursor++ % events.length]!;
    if (event.ts !== undefined) this.latency.observe((nowMicros() - event.ts) / 1e6, events.length);
  }
}
