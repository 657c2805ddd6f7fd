import type { BookRecord, InstrumentClass, TickRecord, TradeRecord } from '../wire/index.js';

/** The record of each class an adapter publishes (PROTOCOL.md sections 2 and 8). */
export interface InstrumentRecords {
  readonly tick: TickRecord;
  readonly book: BookRecord;
  readonly trade: TradeRecord;
}

/**
 * Where an adapter hands its records, one method per class; each goes to its own topic
 * (`tick.`, `book.`, `trade.<venue>.<symbol>`) with that topic's own seq. The publisher behind
 * it validates, sequences and sends; a record it refuses is counted there, never thrown back.
 */
export interface RecordSink {
  tick(record: TickRecord): void;
  /**
   * A snapshot (the whole book, replacing it) or an update (the changed levels). A book topic
   * starts with a snapshot, and a snapshot may be sent at any time, e.g. after a resync with
   * the exchange. Returns false when the record did not go out (invalid, or the send queue was
   * full): subscribers then lack a change, so the publisher refuses this book's updates until
   * the adapter sends a fresh snapshot.
   */
  book(record: BookRecord): boolean;
  trade(record: TradeRecord): void;
}

/** Delivers one record of any class; true when it went out. */
export type ClassDelivery = <K extends InstrumentClass>(kind: K, record: InstrumentRecords[K]) => boolean;

/** A RecordSink whose three methods all go through `deliver`. */
export function sinkOf(deliver: ClassDelivery): RecordSink {
  return {
    tick: (record) => void deliver('tick', record),
    book: (record) => deliver('book', record),
    trade: (record) => void deliver('trade', record),
  };
}

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
 * A source of tick, book and trade records. Adapters know their upstream (a simulator, an exchange, a file)
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
