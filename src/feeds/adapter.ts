import type { TickRecord } from '../wire/index.js';

/** Where an adapter hands its records; the publisher behind it validates, sequences and sends. */
export type RecordSink = (record: TickRecord) => void;

/**
 * A source of tick records. Adapters know their upstream (a simulator, an exchange, a file)
 * and nothing of ZeroMQ, epochs or seq: the shared publisher owns those.
 */
export interface FeedAdapter {
  /** A short stable name for logs and metrics, e.g. "simulated". */
  readonly name: string;
  start(sink: RecordSink): Promise<void>;
  /** Stops emitting; no record reaches the sink after the returned promise settles. */
  stop(): Promise<void>;
}
