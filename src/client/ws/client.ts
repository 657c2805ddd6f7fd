import { backoffDelay, type BackoffOptions } from '../../util/backoff.js';
import {
  closeAction,
  CloseCode,
  ErrorCode,
  patternMatches,
  WS_PATH,
  type ClientRequest,
  type RecordEvent,
  type ServerEvent,
  type StatusEvent,
  type WelcomeEvent,
} from '../../wire/websocket.js';
import { validateBookRecord, type BookRecord } from '../../wire/book-record.js';
import { parseTopic } from '../../wire/topic.js';
import { BoundedQueue } from '../queue.js';
import { BookShelf, type BookStep, type BookView } from '../books.js';
import { TopicBook } from './book.js';
import { Emitter } from './emitter.js';
import { TickfanError } from './errors.js';
import { RequestTable } from './requests.js';
import { planRenewal, planResubscriptions } from './resubscribe.js';
import type { ClientCounters, ClientEvents, ConnectionState, ConnectOptions, StateChange, SubscribeOptions, TopicState, Update } from './types.js';
import { globalWebSocket, loadWs, OPEN, type WebSocketConstructor, type WebSocketLike } from './socket.js';

const DEFAULTS = {
  reconnect: true,
  minReconnectDelayMs: 250,
  maxReconnectDelayMs: 10_000,
  reconnectJitter: 0.5,
  maxReconnectAttempts: Number.POSITIVE_INFINITY,
  stableConnectionMs: 5_000,
  waitOnFirstConnect: false,
  connectTimeoutMs: 10_000,
  requestTimeoutMs: 10_000,
  maxRequestRetries: 8,
  maxPendingUpdates: 100_000,
};

/** How long close() waits for the closing handshake before dropping the socket. */
const CLOSE_WAIT_MS = 1_000;
/** The shortest wait before a request refused for now goes again: the server's rate window is a second. */
const MIN_RETRY_DELAY_MS = 1_000;
/** Topics of order books (PROTOCOL.md section 8), which the client keeps as books. */
const BOOK_PREFIX = 'book.';

type Timer = ReturnType<typeof setTimeout>;

/** One WebSocket connection attempt and, once welcomed, the live connection. */
interface Connection {
  readonly socket: WebSocketLike;
  live: boolean;
  liveAt: number;
  lastFrameAt: number;
  heartbeatMs: number;
  connectTimer: Timer | undefined;
  idleTimer: ReturnType<typeof setInterval> | undefined;
}

/** An updates() reader: its queue, and the patterns it wants (undefined: every update). */
interface Reader {
  readonly queue: BoundedQueue<Update>;
  readonly patterns: readonly string[] | undefined;
}

/**
 * A client of the tickfan WebSocket gateway (PROTOCOL.md section 5). It keeps the state of
 * every subscribed topic (`get`, `entries`), applies each snapshot and tick at most once and
 * never an older seq after a newer one, and survives disconnects: it reconnects with
 * exponential backoff and jitter and resubscribes every pattern with `since` from the last
 * (epoch, seq) held per topic, so the server replays what was missed.
 *
 * Works in Node (with the `ws` package) and in browsers (the global WebSocket). This class
 * keeps the connection and dispatches what comes in; the state is a TopicBook, the requests a
 * RequestTable, and what to send again on a new connection planResubscriptions().
 */
export class TickfanClient extends Emitter<ClientEvents> {
  readonly url: string;
  readonly counters: ClientCounters = {
    applied: 0, duplicates: 0, stale: 0, unsolicited: 0, skipped: 0, resets: 0, reconnects: 0, resumedTopics: 0, bookResyncs: 0, bookRecordsDropped: 0,
  };
  /** Resolves once the first connection is live; rejects if the client closes before. */
  readonly ready: Promise<void>;
  private readonly options: ConnectOptions & typeof DEFAULTS;
  private readonly backoff: BackoffOptions;
  private ctor: WebSocketConstructor | undefined;
  private currentState: ConnectionState = 'connecting';
  private conn: Connection | undefined;
  private sessionId: string | undefined;
  /** Connection attempts since the last live connection. */
  private attempt = 0;
  /** Reconnect delays since the last stable connection: the backoff exponent. */
  private backoffLevel = 0;
  private everLive = false;
  private reconnectTimer: Timer | undefined;
  private closeTimer: Timer | undefined;
  private readonly table = new TopicBook(this.counters);
  private readonly books = new BookShelf();
  private readonly requests: RequestTable;
  private readonly readers = new Set<Reader>();
  private closing = false;
  /** The token a `refresh` took, for later reconnects (when the token option is a string). */
  private refreshedToken: string | undefined;
  private closed: Promise<void> | undefined;
  private finishClose: (() => void) | undefined;
  private failure: TickfanError | undefined;
  private signalReady!: () => void;
  private failReady!: (err: Error) => void;

  constructor(url: string | URL, options: ConnectOptions = {}) {
    super();
    this.url = normalizeUrl(url);
    this.options = { ...DEFAULTS, ...stripUndefined(options) };
    requireCount(this.options.maxPendingUpdates, 'maxPendingUpdates', 1);
    requireCount(this.options.maxRequestRetries, 'maxRequestRetries', 0);
    this.backoff = {
      minDelayMs: this.options.minReconnectDelayMs,
      maxDelayMs: Math.max(this.options.maxReconnectDelayMs, this.options.minReconnectDelayMs),
      jitter: Math.min(Math.max(this.options.reconnectJitter, 0), 1),
    };
    this.requests = new RequestTable({
      timeoutMs: this.options.requestTimeoutMs,
      maxRetries: this.options.maxRequestRetries,
      retryDelayMs: (retry) => Math.max(backoffDelay(retry, this.backoff, this.options.random), MIN_RETRY_DELAY_MS),
    }, {
      live: () => this.conn?.live === true,
      send: (frame) => this.send(frame),
      subscribed: (patterns, subscribeOptions) => this.table.subscribe(patterns, subscribeOptions),
      unsubscribed: (patterns) => this.dropSubscriptions(patterns),
      resubscriptionFailed: (patterns, err) => {
        this.dropSubscriptions(patterns);
        this.emit('error', err);
      },
      resubscriptionRetried: (err) => this.emit('error', err),
      renewal: () => this.renewalPatterns(),
      renewalPlan: (patterns) => planRenewal(this.table.subscriptions, patterns, this.table.held),
      renewalFailed: (err) => this.emit('error', err),
    });
    this.ctor = options.WebSocket ?? globalWebSocket();
    this.ready = new Promise((resolve, reject) => {
      this.signalReady = resolve;
      this.failReady = reject;
    });
    this.ready.catch(() => {});
    void this.open();
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** The server's id of the current (or last) session, from its welcome. */
  get session(): string | undefined {
    return this.sessionId;
  }

  /** The subscribed patterns (acknowledged by the server). */
  subscriptions(): string[] {
    return [...this.table.subscriptions.keys()];
  }

  /** The current state of `topic`, if a subscription holds it. */
  get(topic: string): TopicState | undefined {
    return this.table.held.get(topic);
  }

  /** Every held topic and its state. */
  entries(): IterableIterator<[string, TopicState]> {
    return this.table.held.entries();
  }

  /** Held topics. */
  get size(): number {
    return this.table.held.size;
  }

  /**
   * The order book of a `book.` topic (PROTOCOL.md section 8), built from its snapshot and every
   * later record, each checked against its checksum; undefined when the client holds none, and
   * while a book that stopped matching waits for a fresh snapshot (never a wrong book). The view
   * follows the topic: it changes as records are applied, until the client drops it.
   */
  book(topic: string): BookView | undefined {
    return this.books.book(topic);
  }

  /** The last status event of a venue, if any came. */
  status(venue: string): StatusEvent | undefined {
    return this.table.status(venue);
  }

  /**
   * Subscribes to patterns (exact topics, or prefixes ending in `*`). Resolves with the
   * patterns once the server confirms (its snapshot events, sent in the same frame, are
   * applied by then); rejects with a TickfanError carrying the server's code (BAD_TOPIC, ...).
   * Refusals for now (RATE_LIMITED, UNAVAILABLE) are retried up to `maxRequestRetries` times.
   * Subscriptions survive reconnects.
   */
  subscribe(patterns: string | readonly string[], options: SubscribeOptions = {}): Promise<string[]> {
    if (this.closing) return closedRejection();
    return this.requests.subscribe(listOf(patterns), { snapshot: options.snapshot ?? true, conflate: options.conflate ?? true });
  }

  /**
   * Ends subscriptions. Once confirmed, no event of those patterns follows (unless another
   * subscription matches) and topics no remaining subscription matches leave the state.
   */
  unsubscribe(patterns: string | readonly string[]): Promise<string[]> {
    if (this.closing) return closedRejection();
    return this.requests.unsubscribe(listOf(patterns));
  }

  /** Topics the server knows that start with `prefix` (retried like subscribe when refused for now). */
  list(prefix = ''): Promise<string[]> {
    if (this.closing) return closedRejection();
    return this.requests.query({ op: 'list', prefix }, 'topics', (event) => (event as { topics: string[] }).topics);
  }

  /**
   * Extends this session with a new token before the old one expires (the `refresh` op,
   * docs/protocol.md section 5): resolves with its `exp` (seconds since the epoch, undefined if
   * it has none) once the server took it; a token that does not verify or would not cover the
   * current subscriptions is refused (TickfanError BAD_REQUEST or FORBIDDEN) and the old one
   * stays. Later reconnects use it too, unless the `token` option is a function.
   */
  refresh(token: string): Promise<number | undefined> {
    if (this.closing) return closedRejection();
    return this.requests.query({ op: 'refresh', token }, 'refreshed', (event) => {
      this.refreshedToken = token;
      return (event as { exp?: number }).exp;
    });
  }

  /** Round trip to the server; resolves with the time it took, in ms. */
  ping(): Promise<number> {
    if (this.closing) return closedRejection();
    return this.requests.query({ op: 'ping' }, 'pong', (_event, query) => performance.now() - query.sentAt);
  }

  /**
   * Applied updates from now on, in order, as an async iterator; only those of topics
   * matching `patterns` when given. Ends when the client is closed (throws the error when it
   * closed because of one). Holds at most `maxPendingUpdates` unread: a reader that falls that
   * far behind is ended with SLOW_READER.
   */
  updates(patterns?: readonly string[]): AsyncIterableIterator<Update> {
    const { maxPendingUpdates } = this.options;
    const reader: Reader = {
      queue: new BoundedQueue<Update>({
        limit: maxPendingUpdates,
        whenFull: 'fail',
        overflowError: () => new TickfanError('SLOW_READER', `an updates() reader fell ${maxPendingUpdates} updates behind (maxPendingUpdates) and was ended; get() and entries() hold the current state`),
        onDetach: () => this.readers.delete(reader),
      }),
      patterns: patterns === undefined ? undefined : [...patterns],
    };
    if (this.closed) {
      if (this.failure) reader.queue.fail(this.failure);
      else reader.queue.end();
    } else {
      this.readers.add(reader);
    }
    return reader.queue;
  }

  /**
   * Closes the connection and ends everything: no reconnect, pending requests reject with
   * CLOSED, iterators end, and no timer is left behind. Resolves once the socket closed.
   */
  close(): Promise<void> {
    if (this.closed) return this.closed;
    this.closing = true;
    this.closed = new Promise<void>((resolve) => (this.finishClose = resolve));
    this.clearTimer('reconnectTimer');
    const conn = this.conn;
    if (conn === undefined) {
      this.finish(undefined, undefined);
    } else {
      this.stopConnectionTimers(conn);
      this.closeTimer = setTimeout(() => {
        this.closeTimer = undefined;
        this.abandon(conn, CloseCode.ABNORMAL, 'closing handshake timed out');
      }, CLOSE_WAIT_MS);
      try {
        conn.socket.close(CloseCode.NORMAL, 'client closed');
      } catch {
        this.abandon(conn, CloseCode.ABNORMAL, 'close failed');
      }
    }
    return this.closed;
  }

  // --- connection ---------------------------------------------------------------------

  private async open(): Promise<void> {
    this.attempt++;
    this.setState({ state: 'connecting', attempt: this.attempt });
    let url: string;
    let ctor: WebSocketConstructor;
    try {
      ctor = this.ctor ??= await loadWs();
      url = await this.connectUrl();
    } catch (err) {
      if (this.closing) return;
      return this.connectionEnded(undefined, CloseCode.ABNORMAL, (err as Error).message);
    }
    if (this.closing) {
      if (this.conn === undefined) this.finish(undefined, undefined);
      return;
    }
    let socket: WebSocketLike;
    try {
      socket = this.options.socketOptions === undefined
        ? new ctor(url, this.options.protocols)
        : new ctor(url, this.options.protocols, this.options.socketOptions as never);
    } catch (err) {
      return this.connectionEnded(undefined, CloseCode.ABNORMAL, (err as Error).message);
    }
    const conn: Connection = {
      socket, live: false, liveAt: 0, lastFrameAt: Date.now(), heartbeatMs: 0, connectTimer: undefined, idleTimer: undefined,
    };
    this.conn = conn;
    let lastError = '';
    socket.onmessage = (event) => this.onFrame(conn, event.data);
    socket.onclose = (event) => this.onSocketClose(conn, event.code, event.reason || lastError);
    socket.onerror = (event) => (lastError = errorText(event));
    conn.connectTimer = setTimeout(() => {
      conn.connectTimer = undefined;
      this.abandon(conn, CloseCode.ABNORMAL, `no welcome within ${this.options.connectTimeoutMs} ms`);
    }, this.options.connectTimeoutMs);
  }

  private async connectUrl(): Promise<string> {
    const token = typeof this.options.token === 'function' ? this.options.token : this.refreshedToken ?? this.options.token;
    if (token === undefined) return this.url;
    const value = typeof token === 'function' ? await token() : token;
    const url = new URL(this.url);
    url.searchParams.set('token', value);
    return url.toString();
  }

  private onSocketClose(conn: Connection, code: number, reason: string): void {
    if (conn !== this.conn) return;
    this.detach(conn);
    this.connectionEnded(conn, code, reason);
  }

  /** Gives up on a connection at once (dead, or not welcomed in time) and goes on as if it had closed. */
  private abandon(conn: Connection, code: number, reason: string): void {
    if (conn !== this.conn) return;
    this.detach(conn);
    try {
      if (conn.socket.terminate) conn.socket.terminate();
      else conn.socket.close(CloseCode.NORMAL, reason);
    } catch {
      // already closing
    }
    this.connectionEnded(conn, code, reason);
  }

  /** Stops listening to a socket; keeps a no-op error handler, since `ws` throws errors nobody listens to. */
  private detach(conn: Connection): void {
    this.stopConnectionTimers(conn);
    conn.socket.onmessage = null;
    conn.socket.onclose = null;
    conn.socket.onopen = null;
    conn.socket.onerror = () => {};
  }

  private stopConnectionTimers(conn: Connection): void {
    if (conn.connectTimer !== undefined) clearTimeout(conn.connectTimer);
    if (conn.idleTimer !== undefined) clearInterval(conn.idleTimer);
    conn.connectTimer = undefined;
    conn.idleTimer = undefined;
  }

  /** A connection (or an attempt, when `conn` is undefined) ended: reconnect, or end the client. */
  private connectionEnded(conn: Connection | undefined, code: number, reason: string): void {
    if (conn !== undefined && conn === this.conn) this.conn = undefined;
    this.requests.disconnected();

    if (this.closing) return this.finish(undefined, { code, reason });
    const failure = this.terminalFailure(conn, code, reason);
    if (failure !== undefined) return this.finish(failure, { code, reason });

    if (conn?.live && Date.now() - conn.liveAt >= this.options.stableConnectionMs) this.backoffLevel = 0;
    const next = this.attempt + 1;
    // A draining server's clients come back spread over the whole delay, not all at its end.
    const backoff = closeAction(code) === 'reconnect_spread' ? { ...this.backoff, jitter: 1 } : this.backoff;
    const delayMs = backoffDelay(++this.backoffLevel, backoff, this.options.random);
    this.setState({ state: 'reconnecting', attempt: next, delayMs, code, reason });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.open();
    }, delayMs);
  }

  /** Why the client must end instead of reconnecting, if it must. */
  private terminalFailure(conn: Connection | undefined, code: number, reason: string): TickfanError | undefined {
    const why = `connection to ${this.url} closed (${code}${reason ? `: ${reason}` : ''})`;
    if (!this.options.reconnect) return new TickfanError('CONNECTION', why, undefined, code);
    if (!this.everLive && !conn?.live && !this.options.waitOnFirstConnect) return new TickfanError('CONNECTION', why, undefined, code);
    const action = closeAction(code);
    if (action === 'stop') return new TickfanError(code === CloseCode.FORBIDDEN ? ErrorCode.FORBIDDEN : 'CONNECTION', why, undefined, code);
    if (action === 'reauthenticate' && typeof this.options.token !== 'function') return new TickfanError('UNAUTHENTICATED', why, undefined, code);
    if (this.attempt >= this.options.maxReconnectAttempts) return new TickfanError('CONNECTION', `${why}; gave up after ${this.attempt} attempts`, undefined, code);
    return undefined;
  }

  /** Ends the client: rejects what is pending, ends iterators, clears every timer. */
  private finish(failure: TickfanError | undefined, last: { code: number; reason: string } | undefined): void {
    if (this.currentState === 'closed') return;
    this.closing = true;
    this.failure = failure;
    this.closed ??= Promise.resolve();
    this.clearTimer('reconnectTimer');
    this.clearTimer('closeTimer');
    if (this.conn !== undefined) this.detach(this.conn);
    this.conn = undefined;
    const err = failure ?? new TickfanError('CLOSED', 'the client was closed');
    this.requests.fail(err);
    for (const { queue } of this.readers) {
      if (failure) queue.fail(failure);
      else queue.end();
    }
    this.readers.clear();
    this.failReady(err);
    this.setState({ state: 'closed', attempt: this.attempt, ...(last ?? {}), ...(failure ? { error: failure } : {}) });
    if (failure) this.emit('error', failure);
    this.finishClose?.();
  }

  private clearTimer(name: 'reconnectTimer' | 'closeTimer'): void {
    const timer = this[name];
    if (timer !== undefined) clearTimeout(timer);
    this[name] = undefined;
  }

  private setState(change: StateChange): void {
    this.currentState = change.state;
    this.emit('state', change);
  }

  // --- inbound ------------------------------------------------------------------------

  private onFrame(conn: Connection, data: unknown): void {
    if (conn !== this.conn) return;
    conn.lastFrameAt = Date.now();
    if (typeof data !== 'string') return this.emit('error', new TickfanError('PROTOCOL', 'the server sent a binary frame'));
    let events: unknown;
    try {
      events = JSON.parse(data);
    } catch (err) {
      return this.emit('error', new TickfanError('PROTOCOL', `the server sent a frame that is not JSON: ${(err as Error).message}`));
    }
    for (const event of Array.isArray(events) ? events : [events]) {
      if (conn !== this.conn) return;
      if (typeof event !== 'object' || event === null) continue;
      this.onEvent(conn, event as ServerEvent);
    }
  }

  private onEvent(conn: Connection, event: ServerEvent): void {
    switch (event.type) {
      case 'tick':
      case 'snapshot':
        if (!isRecordEvent(event)) return this.emit('error', new TickfanError('PROTOCOL', `malformed ${event.type} event: ${JSON.stringify(event).slice(0, 200)}`));
        return this.apply(event);
      case 'heartbeat':
        return this.emit('heartbeat', event);
      case 'welcome':
        return this.onWelcome(conn, event);
      case 'subscribed':
      case 'unsubscribed':
        return this.requests.onAnswer(event);
      case 'error':
        if (!this.requests.onError(event)) this.emit('error', TickfanError.fromEvent(event));
        return;
      case 'topics':
      case 'pong':
      case 'refreshed':
        return this.requests.onQueryAnswer(event);
      case 'status':
        this.table.setStatus(event);
        return this.emit('status', event);
      default:
        // Event types of later protocol versions are ignored.
        return;
    }
  }

  private onWelcome(conn: Connection, event: WelcomeEvent): void {
    if (conn.live) return;
    conn.live = true;
    conn.liveAt = Date.now();
    conn.heartbeatMs = typeof event.heartbeatMs === 'number' && event.heartbeatMs > 0 ? event.heartbeatMs : 5_000;
    if (conn.connectTimer !== undefined) clearTimeout(conn.connectTimer);
    conn.connectTimer = undefined;
    const idleMs = this.options.idleTimeoutMs ?? 2 * conn.heartbeatMs + 1_000;
    conn.idleTimer = setInterval(() => {
      if (Date.now() - conn.lastFrameAt > idleMs) this.abandon(conn, CloseCode.ABNORMAL, `no frame for ${idleMs} ms`);
    }, Math.max(50, Math.floor(idleMs / 4)));
    this.sessionId = event.session;
    if (this.everLive) this.counters.reconnects++;
    this.everLive = true;
    this.setState({ state: 'live', attempt: this.attempt, session: event.session });
    this.attempt = 0;
    this.emit('welcome', event);
    this.signalReady();
    this.requests.connected(planResubscriptions(this.table.subscriptions, this.table.held));
    // Books dropped before this connection: the resubscriptions bring their snapshots only where
    // the subscription asks for snapshots, so a renewal follows (it renews nothing if they came).
    if (this.books.renewing.size > 0) this.requests.renew();
  }

  private apply(event: RecordEvent): void {
    if (event.topic.startsWith(BOOK_PREFIX) && this.table.subscribed(event.topic)) return this.applyBookRecord(event);
    const update = this.table.apply(event);
    if (update !== undefined) this.deliver(update);
  }

  /**
   * A record of a book topic: applied to the topic's state and to its book, checked against its
   * checksum. One that cannot be applied drops the book, and the topic is taken afresh from a new
   * snapshot (renewBook).
   */
  private applyBookRecord(event: RecordEvent): void {
    const { topic } = event;
    // Only a snapshot rebuilds a dropped book: whatever else comes first cannot be applied.
    if (this.books.renewing.has(topic) && (event.data as { action?: unknown }).action !== 'snapshot') {
      this.counters.bookRecordsDropped++;
      return;
    }
    let record: BookRecord;
    try {
      record = validateBookRecord(parseTopic(topic), event.data);
    } catch (err) {
      return this.renewBook(this.books.drop(topic, event, 'invalid', (err as Error).message), event);
    }
    const update = this.table.apply(event);
    if (update === undefined) return;
    const step = this.books.apply(topic, event, record);
    if (!step.ok) return this.renewBook(step, event);
    this.deliver(update);
    this.emit('book', { topic, book: step.book, record, update });
  }

  /**
   * Takes a dropped book's topic afresh: its state goes too (so the topic is not resumed with
   * `since` and its next snapshot is taken as its first), and the patterns that match it are
   * subscribed again, for a snapshot (RequestTable.renew). A repeated subscribe would not do: the
   * server sends nothing for a topic the client already follows.
   */
  private renewBook(dropped: BookStep & { ok: false }, event: RecordEvent): void {
    const { topic, epoch, seq } = event;
    this.table.forget(topic);
    this.counters.bookResyncs++;
    this.emit('bookResync', { topic, epoch, seq, reason: dropped.reason, message: dropped.message });
    this.requests.renew();
  }

  /** The acknowledged patterns that match a dropped book: all of them, so that the server too lets go of its topic. */
  private renewalPatterns(): string[] {
    const renewing = [...this.books.renewing];
    return [...this.table.subscriptions.keys()].filter((pattern) => renewing.some((topic) => patternMatches(pattern, topic)));
  }

  private dropSubscriptions(patterns: readonly string[]): void {
    this.table.unsubscribe(patterns);
    this.books.retain((topic) => this.table.subscribed(topic));
  }

  private deliver(update: Update): void {
    this.emit('update', update);
    this.emit(update.kind, update);
    for (const { queue, patterns } of this.readers) {
      if (patterns === undefined || patterns.some((pattern) => patternMatches(pattern, update.topic))) queue.push(update);
    }
  }

  private send(frame: ClientRequest): void {
    const conn = this.conn;
    if (conn === undefined || conn.socket.readyState !== OPEN) return;
    try {
      conn.socket.send(JSON.stringify(frame));
    } catch (err) {
      return this.abandon(conn, CloseCode.ABNORMAL, `send failed: ${(err as Error).message}`);
    }
    if (frame.op === 'subscribe' && frame.since !== undefined) this.counters.resumedTopics += Object.keys(frame.since).length;
  }
}

/**
 * Connects to a tickfan gateway; resolves once the connection is live (the server's welcome
 * came). Rejects when the first attempt fails, unless `waitOnFirstConnect` is set.
 *
 *     const client = await connect('ws://localhost:8080/v1/ws');
 *     await client.subscribe(['tick.SIM.*'], { conflate: false });
 *     for await (const update of client.updates()) console.log(update.topic, update.record);
 */
export async function connect(url: string | URL, options: ConnectOptions = {}): Promise<TickfanClient> {
  const client = new TickfanClient(url, options);
  try {
    await client.ready;
  } catch (err) {
    await client.close();
    throw err;
  }
  return client;
}

/** ws[s]://host[:port] gets the gateway's path; http(s) becomes ws(s). */
function normalizeUrl(input: string | URL): string {
  const url = new URL(input.toString());
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new TypeError(`not a WebSocket URL: ${input.toString()}`);
  if (url.pathname === '' || url.pathname === '/') url.pathname = WS_PATH;
  return url.toString();
}

function requireCount(value: number, option: string, least: number): void {
  if (!Number.isSafeInteger(value) || value < least) throw new RangeError(`${option} must be an integer >= ${least}, not ${String(value)}`);
}

function listOf(patterns: string | readonly string[]): string[] {
  return typeof patterns === 'string' ? [patterns] : [...patterns];
}

function closedRejection<T>(): Promise<T> {
  return Promise.reject(new TickfanError('CLOSED', 'the client is closed'));
}

function isRecordEvent(event: RecordEvent): boolean {
  return typeof event.topic === 'string' && Number.isSafeInteger(event.epoch) && Number.isSafeInteger(event.seq)
    && typeof event.ts === 'number' && typeof event.data === 'object' && event.data !== null;
}

function stripUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function errorText(event: unknown): string {
  const err = (event as { error?: unknown; message?: unknown } | undefined);
  if (err?.error instanceof Error) return err.error.message;
  if (typeof err?.message === 'string') return err.message;
  return 'connection error';
}
