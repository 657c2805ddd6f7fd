import type { TickRecord } from '../wire/index.js';

/** Where an adapter hands its records; the publisher behind it validates, sequences and sends. */
export type RecordSink = (record: TickRecord) => void;

/**
 * What an adapter tells its supervisor besides records. Plain calls, cheap enough for the
 * hot path; the supervisor turns them into venue status and per-adapter metrics.
 */
export interface AdapterMonitor {
  /** The upstream connection is established (subscribed); its venues go up with their next tick. */
  connected(): void;
  /** The upstream connection is lost; its venues are `down` with this reason until it is back. */
  disconnected(reason: string): void;
  /** A reconnect attempt after a lost connection (not counted for planned reconnects). */
  reconnecting(): void;
  /** The upstream skipped messages (its own sequence or ids jumped); `count` gaps seen. */
  upstreamGap(count?: number): void;
  /** An upstream message was refused; `reason` is a short bounded label for metrics. */
  rejected(reason: string, detail: string): void;
  /**
   * Runs an upstream callback (socket message, timer, file read) so that an exception in it is
   * the adapter's crash, handed to the supervisor, never the process's or another adapter's.
   */
  guard(callback: () => void): void;
}

/**
 * A source of tick records. Adapters know their upstream (a simulator, an exchange, a file)
 * and nothing of ZeroMQ, epochs or seq: the shared publisher owns those.
 */
export interface FeedAdapter {
  /** A short stable name for logs and metrics, e.g. "simulated". */
  readonly name: string;
  /** The venues this adapter publishes, when known in advance (exchanges); empty when they come with the data. */
  readonly venues: readonly string[];
  /**
   * True when silence while connected means the upstream is stuck (an exchange, the simulator),
   * so the supervisor restarts the adapter after feeds.restart.stallMs without a tick. False for
   * sources that may pause legitimately: a replay's recorded gaps, programs pushing to ingest.
   */
  readonly expectsTicks: boolean;
  /**
   * Starts emitting. `monitor` is given by the supervisor; an adapter run without one (a unit
   * test) reports nowhere. Rejects when the adapter cannot start at all.
   */
  start(sink: RecordSink, monitor?: AdapterMonitor): Promise<void>;
  /** Stops emitting; no record reaches the sink after the returned promise settles. */
  stop(): Promise<void>;
}

/** A monitor that reports nowhere and lets exceptions through, for adapters run on their own. */
export const UNMONITORED: AdapterMonitor = Object.freeze({
  connected() {},
  disconnected() {},
  reconnecting() {},
  upstreamGap() {},
  rejected() {},
  guard(callback: () => void) {
    callback();
  },
});
