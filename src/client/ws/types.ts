/** The SDK's public option, state and event types (the client itself is in client.ts). */
import type { TickfanError } from './errors.js';
import type { HeartbeatEvent, Position, StatusEvent, TickRecord, WelcomeEvent } from '../../wire/websocket.js';
import type { BookRecord } from '../../wire/book-record.js';
import type { BookResync, BookView } from '../books.js';
import type { WebSocketConstructor } from './socket.js';

export interface ConnectOptions {
  /**
   * The WebSocket implementation. Default: `globalThis.WebSocket` when there is one
   * (browsers, Node >= 22), else the `ws` package, loaded on first use.
   */
  readonly WebSocket?: WebSocketConstructor;
  /** WebSocket subprotocols, passed to the constructor. */
  readonly protocols?: string | string[];
  /** A third constructor argument for `ws` (headers, TLS options, agent); ignored by browsers. */
  readonly socketOptions?: unknown;
  /**
   * A token sent as `?token=` (PROTOCOL.md section 5, authentication). A function is called
   * before every connection attempt, so an expired token can be refreshed; with a function,
   * close code CloseCode.UNAUTHENTICATED (token expired) reconnects instead of ending the client.
   */
  readonly token?: string | (() => string | Promise<string>);
  /** Reconnect after a connection ends (default true). */
  readonly reconnect?: boolean;
  /** Base delay of the first reconnect attempt (default 250 ms); it doubles with each further attempt. */
  readonly minReconnectDelayMs?: number;
  /** Largest base reconnect delay (default 10,000 ms). */
  readonly maxReconnectDelayMs?: number;
  /** Share of each delay taken off at random, 0..1 (default 0.5): delays are drawn from [base * (1 - jitter), base]. */
  readonly reconnectJitter?: number;
  /** Attempts in a row after which the client gives up and closes (default: never). */
  readonly maxReconnectAttempts?: number;
  /**
   * A connection that stays live this long resets the backoff (default 5,000 ms); after one
   * that ends sooner (a server accepting and dropping at once) the delays keep growing.
   */
  readonly stableConnectionMs?: number;
  /**
   * When the first connection attempt fails, keep trying (true) instead of rejecting
   * connect() (false, the default).
   */
  readonly waitOnFirstConnect?: boolean;
  /** How long one attempt may take until the server's welcome (default 10,000 ms). */
  readonly connectTimeoutMs?: number;
  /** How long subscribe, unsubscribe, list and ping wait for their answer (default 10,000 ms; 0 = forever). */
  readonly requestTimeoutMs?: number;
  /**
   * Times a subscribe (the caller's, or a resubscription after a reconnect) or a list that the
   * server refused for now (RATE_LIMITED, UNAVAILABLE) is sent again, after a backoff of at
   * least a second that grows like the reconnect delays (default 8). Then the caller's promise
   * rejects with the last refusal; a resubscription gives its patterns up and emits `error`.
   * Other refusals (BAD_REQUEST, BAD_TOPIC, FORBIDDEN, TOO_MANY_SUBSCRIPTIONS) are never retried.
   */
  readonly maxRequestRetries?: number;
  /**
   * Updates an updates() iterator may hold unread (default 100,000). A reader that falls this
   * far behind is ended: its next read throws a TickfanError `SLOW_READER` and it gets no more
   * updates; the client's state (`get`, `entries`) stays complete and current.
   */
  readonly maxPendingUpdates?: number;
  /**
   * A live connection without any frame for this long is taken as dead and replaced. The
   * server sends a heartbeat after `heartbeatMs` of silence; default 2 x heartbeatMs + 1,000 ms.
   */
  readonly idleTimeoutMs?: number;
  /** Random source of the jitter, for tests (default Math.random). */
  readonly random?: () => number;
}

export interface SubscribeOptions {
  /** Send each matching topic's current record first (default true). */
  readonly snapshot?: boolean;
  /** Let the server keep only the newest pending tick per topic when this client falls behind (default true). */
  readonly conflate?: boolean;
}

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'closed';

export interface StateChange {
  readonly state: ConnectionState;
  /**
   * connecting: which attempt this is since the last live connection (1 for the first);
   * live: the attempt that succeeded; reconnecting: the attempt that follows the delay.
   */
  readonly attempt: number;
  /**
   * reconnecting: ms until the next attempt. The k-th delay since the last connection that
   * stayed live for `stableConnectionMs` is drawn from [b * (1 - jitter), b] with
   * b = min(maxReconnectDelayMs, minReconnectDelayMs * 2^(k-1)).
   */
  readonly delayMs?: number;
  /** reconnecting, closed: the close code of the connection that ended (CloseCode.ABNORMAL when it never opened or was dropped). */
  readonly code?: number;
  readonly reason?: string;
  /** live: the server's session id. */
  readonly session?: string;
  /** closed: why, when the client did not close by close(). */
  readonly error?: TickfanError;
}

/** One topic as the client holds it: the newest record and where it stands in its source's sequence. */
export interface TopicState {
  readonly epoch: number;
  readonly seq: number;
  /** The source's publication time of this record, microseconds since the Unix epoch. */
  readonly ts: number;
  readonly record: TickRecord;
}

/** A change applied to the client's state (a `snapshot` or `tick` event that was new). */
export interface Update extends TopicState {
  readonly kind: 'snapshot' | 'tick';
  readonly topic: string;
  /** The topic's state before this update; undefined for its first. */
  readonly previous: Position | undefined;
  /** Seqs of this epoch jumped over since `previous` (conflation, or a resume from a snapshot); 0 when contiguous or on a new epoch. */
  readonly skipped: number;
  /** The update starts a new epoch (the source restarted): it replaced the previous state. */
  readonly reset: boolean;
}

export interface ClientCounters {
  /** Snapshot and tick events applied. */
  applied: number;
  /** Events already in the state (same epoch, seq not above the held one), dropped. */
  duplicates: number;
  /** Events of another epoch older (by ts) than the held state, dropped. */
  stale: number;
  /** Events of topics no subscription of this client matches, dropped. */
  unsolicited: number;
  /** Seqs jumped over within an epoch (see Update.skipped). */
  skipped: number;
  /** New epochs taken. */
  resets: number;
  /** Connections that became live after the first. */
  reconnects: number;
  /** `since` entries sent on resubscribing. */
  resumedTopics: number;
  /** Books dropped and taken afresh (see BookResync): a checksum that did not match, an update with no book, an invalid record. */
  bookResyncs: number;
  /** Records of a book topic that came while its book waited for a fresh snapshot, which alone can rebuild it: dropped. */
  bookRecordsDropped: number;
}

/** A book topic's snapshot or tick applied to its order book (PROTOCOL.md section 8). */
export interface BookChange {
  readonly topic: string;
  /** The book after the record; the same view as client.book(topic), which goes on following the topic. */
  readonly book: BookView;
  /** The record applied: the whole book (`snapshot`) or the levels that changed (`update`). */
  readonly record: BookRecord;
  /** The topic's state update it came with (also emitted as `update`). */
  readonly update: Update;
}


export type ClientEvents = {
  /** Every applied snapshot or tick. */
  update: Update;
  snapshot: Update;
  tick: Update;
  /** Every change of a held order book. */
  book: BookChange;
  /**
   * A book that stopped matching its source, dropped: until a fresh snapshot of its topic
   * rebuilds it, book(topic) and get(topic) are undefined. The client asks for that snapshot itself.
   */
  bookResync: BookResync;
  status: StatusEvent;
  heartbeat: HeartbeatEvent;
  welcome: WelcomeEvent;
  state: StateChange;
  /** Errors that answer no request of the caller: failed resubscriptions, stray server errors, unreadable frames. */
  error: TickfanError;
};
