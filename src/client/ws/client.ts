import { backoffDelay, type BackoffOptions } from '../../util/backoff.js';
import { Emitter } from './emitter.js';
import { TickfanError } from './errors.js';
import {
  CloseCode,
  MAX_PATTERNS_PER_REQUEST,
  MAX_REQUEST_BYTES,
  patternMatches,
  WS_PATH,
  type ErrorEvent,
  type Position,
  type RecordEvent,
  type RequestId,
  type ServerEvent,
  type StatusEvent,
  type WelcomeEvent,
} from './protocol.js';
import { IteratorQueue } from './queue.js';
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
};

/** How long close() waits for the closing handshake before dropping the socket. */
const CLOSE_WAIT_MS = 1_000;
/** Bytes of patterns per resubscribe request; the rest of the 64 KiB is for `since`. */
const RESUBSCRIBE_PATTERN_BYTES = 24 * 1024;
/** Headroom under the server's request limit. */
const REQUEST_BYTES = MAX_REQUEST_BYTES - 1024;
const RESUBSCRIBE_PATTERNS = Math.floor(MAX_PATTERNS_PER_REQUEST / 2);

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
  /** Topics already given a `since` entry in this connection's resubscription. */
  readonly resumed: Set<string>;
}

interface Pending {
  reject(err: Error): void;
  timer: Timer | undefined;
  settled: boolean;
}

interface Settle<T> extends Pending {
  resolve(value: T): void;
}

/** A subscribe or unsubscribe: sent one at a time, in call order, so the server applies them in that order. */
interface Mutation {
  id: number;
  readonly kind: 'subscribe' | 'unsubscribe' | 'resubscribe';
  readonly patterns: readonly string[];
  readonly options: Required<SubscribeOptions>;
  /** resubscribe: the held topics to resume (`since`), assigned when first sent. */
  topics?: string[];
  /** resubscribe: times the server refused it for now (RATE_LIMITED, BAD_REQUEST). */
  retries?: number;
  /** The caller's promise; none for resubscriptions. */
  settle: Settle<string[]> | undefined;
}

/** A list or ping: independent, sent at once (or once live), sent again after a reconnect. */
interface Query {
  readonly id: number;
  readonly frame: Record<string, unknown>;
  readonly type: 'topics' | 'pong';
  readonly settle: Settle<unknown>;
  readonly parse: (event: unknown, query: Query) => unknown;
  sent: boolean;
  sentAt: number;
}

/**
 * A client of the tickfan WebSocket gateway (PROTOCOL.md section 5). It keeps the state of
 * every subscribed topic (`get`, `entries`), applies each snapshot and tick at most once and
 * never an older seq after a newer one, and survives disconnects: it reconnects with
 * exponential backoff and jitter and resubscribes every pattern with `since` from the last
 * (epoch, seq) held per topic, so the server replays what was missed.
 *
 * Works in Node (with the `ws` package) and in browsers (the global WebSocket).
 */
export class TickfanClient extends Emitter<ClientEvents> {
  readonly url: string;
  readonly counters: ClientCounters = {
    applied: 0, duplicates: 0, stale: 0, unsolicited: 0, skipped: 0, resets: 0, reconnects: 0, resumedTopics: 0,
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
  private retryTimer: Timer | undefined;
  private closeTimer: Timer | undefined;
  private nextId = 1;
  /** Acknowledged subscriptions: pattern -> options. */
  private readonly subs = new Map<string, Required<SubscribeOptions>>();
  /** topic -> whether a subscription matches it; cleared when subscriptions change. */
  private readonly matchCache = new Map<string, boolean>();
  private readonly topicStates = new Map<string, TopicState>();
  private readonly statuses = new Map<string, StatusEvent>();
  private mutations: Mutation[] = [];
  private inFlight: Mutation | undefined;
  private readonly queries = new Map<number, Query>();
  private readonly iterators = new Set<{ queue: IteratorQueue<Update>; patterns: readonly string[] | undefined }>();
  private closing = false;
  private closed: Promise<void> | undefined;
  private finishClose: (() => void) | undefined;
  private failure: TickfanError | undefined;
  private signalReady!: () => void;
  private failReady!: (err: Error) => void;

  constructor(url: string | URL, options: ConnectOptions = {}) {
    super();
    this.url = normalizeUrl(url);
    this.options = { ...DEFAULTS, ...stripUndefined(options) };
    this.backoff = {
      minDelayMs: this.options.minReconnectDelayMs,
      maxDelayMs: Math.max(this.options.maxReconnectDelayMs, this.options.minReconnectDelayMs),
      jitter: Math.min(Math.max(this.options.reconnectJitter, 0), 1),
    };
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
    return [...this.subs.keys()];
  }

  /** The current state of `topic`, if a subscription holds it. */
  get(topic: string): TopicState | undefined {
    return this.topicStates.get(topic);
  }

  /** Every held topic and its state. */
  entries(): IterableIterator<[string, TopicState]> {
    return this.topicStates.entries();
  }

  /** Held topics. */
  get size(): number {
    return this.topicStates.size;
  }

  /** The last status event of a venue, if any came. */
  status(venue: string): StatusEvent | undefined {
    return this.statuses.get(venue);
  }

  /**
   * Subscribes to patterns (exact topics, or prefixes ending in `*`). Resolves with the
   * patterns once the server confirms (its snapshot events, sent in the same frame, are
   * applied by then); rejects with a TickfanError carrying the server's code (BAD_TOPIC, ...).
   * Subscriptions survive reconnects.
   */
  subscribe(patterns: string | readonly string[], options: SubscribeOptions = {}): Promise<string[]> {
    const list = typeof patterns === 'string' ? [patterns] : [...patterns];
    return this.mutate('subscribe', list, { snapshot: options.snapshot ?? true, conflate: options.conflate ?? true });
  }

  /**
   * Ends subscriptions. Once confirmed, no event of those patterns follows (unless another
   * subscription matches) and topics no remaining subscription matches leave the state.
   */
  unsubscribe(patterns: string | readonly string[]): Promise<string[]> {
    const list = typeof patterns === 'string' ? [patterns] : [...patterns];
    return this.mutate('unsubscribe', list, { snapshot: true, conflate: true });
  }

  /** Topics the server knows that start with `prefix`. */
  list(prefix = ''): Promise<string[]> {
    return this.query({ op: 'list', prefix }, 'topics', (event) => (event as { topics: string[] }).topics);
  }

  /** Round trip to the server; resolves with the time it took, in ms. */
  ping(): Promise<number> {
    return this.query({ op: 'ping' }, 'pong', (_event, query) => performance.now() - query.sentAt);
  }

  /**
   * Applied updates from now on, in order, as an async iterator; only those of topics
   * matching `patterns` when given. Ends when the client is closed (throws the error when it
   * closed because of one). Buffers without bound for a reader that does not keep up.
   */
  updates(patterns?: readonly string[]): AsyncIterableIterator<Update> {
    const entry = {
      queue: new IteratorQueue<Update>(() => this.iterators.delete(entry)),
      patterns: patterns === undefined ? undefined : [...patterns],
    };
    if (this.closed) {
      if (this.failure) entry.queue.fail(this.failure);
      else entry.queue.end();
    } else {
      this.iterators.add(entry);
    }
    return entry.queue;
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
    this.clearTimer('retryTimer');
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
      socket, live: false, liveAt: 0, lastFrameAt: Date.now(), heartbeatMs: 0, connectTimer: undefined, idleTimer: undefined, resumed: new Set(),
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
    const { token } = this.options;
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
    // What was in flight goes again on the next connection; resubscriptions are rebuilt there.
    if (this.inFlight !== undefined && this.inFlight.kind !== 'resubscribe') this.mutations.unshift(this.inFlight);
    this.inFlight = undefined;
    this.clearTimer('retryTimer');
    this.mutations = this.mutations.filter((m) => m.kind !== 'resubscribe');
    for (const query of this.queries.values()) query.sent = false;

    if (this.closing) return this.finish(undefined, { code, reason });
    const failure = this.terminalFailure(conn, code, reason);
    if (failure !== undefined) return this.finish(failure, { code, reason });

    if (conn?.live && Date.now() - conn.liveAt >= this.options.stableConnectionMs) this.backoffLevel = 0;
    const next = this.attempt + 1;
    const delayMs = backoffDelay(++this.backoffLevel, this.backoff, this.options.random);
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
    if (code === CloseCode.FORBIDDEN) return new TickfanError('FORBIDDEN', why, undefined, code);
    if (code === CloseCode.UNAUTHENTICATED && typeof this.options.token !== 'function') return new TickfanError('UNAUTHENTICATED', why, undefined, code);
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
    this.clearTimer('retryTimer');
    this.clearTimer('closeTimer');
    if (this.conn !== undefined) this.detach(this.conn);
    this.conn = undefined;
    const err = failure ?? new TickfanError('CLOSED', 'the client was closed');
    const mutations = this.inFlight ? [this.inFlight, ...this.mutations] : this.mutations;
    this.inFlight = undefined;
    this.mutations = [];
    for (const mutation of mutations) if (mutation.settle) this.reject(mutation.settle, err);
    for (const query of this.queries.values()) this.reject(query.settle, err);
    this.queries.clear();
    for (const { queue } of this.iterators) {
      if (failure) queue.fail(failure);
      else queue.end();
    }
    this.iterators.clear();
    this.failReady(err);
    this.setState({ state: 'closed', attempt: this.attempt, ...(last ?? {}), ...(failure ? { error: failure } : {}) });
    if (failure) this.emit('error', failure);
    this.finishClose?.();
  }

  private clearTimer(name: 'reconnectTimer' | 'retryTimer' | 'closeTimer'): void {
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
        return this.onAnswer(event.id, event.type, event.topics);
      case 'error':
        return this.onError(event);
      case 'topics':
      case 'pong':
        return this.onQueryAnswer(event.id, event.type, event);
      case 'status':
        this.statuses.set(event.venue, event);
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
    // Resubscribe everything first, then what the caller asked for meanwhile, in order.
    this.mutations.unshift(...this.resubscriptions());
    for (const query of this.queries.values()) this.sendQuery(query);
    this.pump();
  }

  /**
   * Every subscription again, grouped by options, at most RESUBSCRIBE_PATTERNS patterns and
   * RESUBSCRIBE_PATTERN_BYTES per request; `since` entries are added when each is sent.
   */
  private resubscriptions(): Mutation[] {
    const groups = new Map<string, { options: Required<SubscribeOptions>; patterns: string[] }>();
    for (const [pattern, options] of this.subs) {
      const key = `${options.snapshot}/${options.conflate}`;
      let group = groups.get(key);
      if (group === undefined) groups.set(key, (group = { options, patterns: [] }));
      group.patterns.push(pattern);
    }
    const mutations: Mutation[] = [];
    for (const { options, patterns } of groups.values()) {
      let chunk: string[] = [];
      let bytes = 0;
      for (const pattern of patterns) {
        if (chunk.length > 0 && (chunk.length >= RESUBSCRIBE_PATTERNS || bytes + pattern.length + 3 > RESUBSCRIBE_PATTERN_BYTES)) {
          mutations.push({ id: 0, kind: 'resubscribe', patterns: chunk, options, settle: undefined });
          chunk = [];
          bytes = 0;
        }
        chunk.push(pattern);
        bytes += pattern.length + 3;
      }
      if (chunk.length > 0) mutations.push({ id: 0, kind: 'resubscribe', patterns: chunk, options, settle: undefined });
    }
    return mutations;
  }

  private apply(event: RecordEvent): void {
    const { topic, epoch, seq, ts } = event;
    if (!this.subscribed(topic)) {
      this.counters.unsolicited++;
      return;
    }
    const held = this.topicStates.get(topic);
    let skipped = 0;
    let reset = false;
    if (held !== undefined) {
      if (held.epoch === epoch) {
        if (seq <= held.seq) {
          this.counters.duplicates++;
          return;
        }
        skipped = seq - held.seq - 1;
      } else {
        // Epochs are random: only the source's clock tells a restart from a previous run's leftover.
        if (ts <= held.ts) {
          this.counters.stale++;
          return;
        }
        reset = true;
      }
    }
    const state: TopicState = { epoch, seq, ts, record: event.data };
    this.topicStates.set(topic, state);
    this.counters.applied++;
    this.counters.skipped += skipped;
    if (reset) this.counters.resets++;
    const update: Update = {
      kind: event.type, topic, ...state, previous: held === undefined ? undefined : { epoch: held.epoch, seq: held.seq }, skipped, reset,
    };
    this.emit('update', update);
    this.emit(event.type, update);
    for (const { queue, patterns } of this.iterators) {
      if (patterns === undefined || patterns.some((pattern) => patternMatches(pattern, topic))) queue.push(update);
    }
  }

  private subscribed(topic: string): boolean {
    let matched = this.matchCache.get(topic);
    if (matched === undefined) {
      matched = false;
      for (const pattern of this.subs.keys()) {
        if (patternMatches(pattern, topic)) {
          matched = true;
          break;
        }
      }
      this.matchCache.set(topic, matched);
    }
    return matched;
  }

  private onAnswer(id: RequestId | undefined, type: 'subscribed' | 'unsubscribed', topics: string[]): void {
    const mutation = this.inFlight;
    if (mutation === undefined || mutation.id !== id) return;
    this.inFlight = undefined;
    if (type === 'subscribed' && mutation.kind !== 'unsubscribe') {
      if (mutation.kind === 'subscribe') for (const pattern of mutation.patterns) this.subs.set(pattern, mutation.options);
      this.matchCache.clear();
    } else if (type === 'unsubscribed' && mutation.kind === 'unsubscribe') {
      this.removeSubscriptions(mutation.patterns);
    }
    if (mutation.settle) this.resolve(mutation.settle, Array.isArray(topics) ? topics : [...mutation.patterns]);
    this.pump();
  }

  private onError(event: ErrorEvent): void {
    const err = new TickfanError(event.code, event.message, event.id);
    const mutation = this.inFlight;
    if (mutation !== undefined && event.id !== undefined && mutation.id === event.id) {
      this.inFlight = undefined;
      if (mutation.settle) {
        this.reject(mutation.settle, err);
      } else if (event.code === 'RATE_LIMITED' || event.code === 'BAD_REQUEST') {
        // A resubscription the server cannot take now (rate, or no state upstream yet): again later.
        this.emit('error', err);
        this.inFlight = mutation;
        mutation.retries = (mutation.retries ?? 0) + 1;
        const delayMs = Math.max(backoffDelay(mutation.retries, this.backoff, this.options.random), 1_000);
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          if (this.inFlight !== mutation) return;
          this.inFlight = undefined;
          this.mutations.unshift(mutation);
          this.pump();
        }, delayMs);
        return;
      } else {
        // Refused for good (BAD_TOPIC, FORBIDDEN, TOO_MANY_SUBSCRIPTIONS): these patterns are gone.
        this.removeSubscriptions(mutation.patterns);
        this.emit('error', err);
      }
      return this.pump();
    }
    const query = event.id === undefined ? undefined : this.queries.get(event.id as number);
    if (query !== undefined) {
      this.queries.delete(query.id);
      return this.reject(query.settle, err);
    }
    this.emit('error', err);
  }

  private onQueryAnswer(id: RequestId | undefined, type: 'topics' | 'pong', event: unknown): void {
    const query = typeof id === 'number' ? this.queries.get(id) : undefined;
    if (query === undefined || query.type !== type) return;
    this.queries.delete(query.id);
    this.resolve(query.settle, query.parse(event, query));
  }

  /** Drops subscriptions, and the state of topics no remaining subscription matches. */
  private removeSubscriptions(patterns: readonly string[]): void {
    for (const pattern of patterns) this.subs.delete(pattern);
    this.matchCache.clear();
    for (const topic of [...this.topicStates.keys()]) {
      if (!this.subscribed(topic)) this.topicStates.delete(topic);
    }
  }

  // --- outbound -----------------------------------------------------------------------

  private mutate(kind: 'subscribe' | 'unsubscribe', patterns: string[], options: Required<SubscribeOptions>): Promise<string[]> {
    if (this.closing) return Promise.reject(new TickfanError('CLOSED', 'the client is closed'));
    return new Promise<string[]>((resolve, reject) => {
      const mutation: Mutation = { id: 0, kind, patterns, options, settle: undefined };
      mutation.settle = this.settler(resolve, reject, `${kind} ${JSON.stringify(patterns)}`, () => {
        // Not sent yet: it never will be. Sent: an answer that still comes is applied.
        const index = this.mutations.indexOf(mutation);
        if (index >= 0) this.mutations.splice(index, 1);
      });
      this.mutations.push(mutation);
      this.pump();
    });
  }

  private query<T>(frame: Record<string, unknown>, type: 'topics' | 'pong', parse: (event: unknown, query: Query) => T): Promise<T> {
    if (this.closing) return Promise.reject(new TickfanError('CLOSED', 'the client is closed'));
    return new Promise<T>((resolve, reject) => {
      const id = this.nextId++;
      const settle = this.settler(resolve as (value: unknown) => void, reject, `${frame.op} (id ${id})`, () => this.queries.delete(id));
      const query: Query = { id, frame, type, settle, parse, sent: false, sentAt: 0 };
      this.queries.set(id, query);
      if (this.conn?.live) this.sendQuery(query);
    });
  }

  private settler<T>(resolve: (value: T) => void, reject: (err: Error) => void, what: string, onTimeout?: () => void): Settle<T> {
    const settle: Settle<T> = { resolve, reject, timer: undefined, settled: false };
    const ms = this.options.requestTimeoutMs;
    if (ms > 0) {
      settle.timer = setTimeout(() => {
        settle.timer = undefined;
        onTimeout?.();
        // A subscription answered later still counts: only the caller's wait ends here.
        this.reject(settle, new TickfanError('TIMEOUT', `no answer to ${what} within ${ms} ms`));
      }, ms);
    }
    return settle;
  }

  private resolve<T>(settle: Settle<T>, value: T): void {
    if (settle.settled) return;
    settle.settled = true;
    if (settle.timer !== undefined) clearTimeout(settle.timer);
    settle.resolve(value);
  }

  private reject(settle: Pending, err: Error): void {
    if (settle.settled) return;
    settle.settled = true;
    if (settle.timer !== undefined) clearTimeout(settle.timer);
    settle.reject(err);
  }

  private sendQuery(query: Query): void {
    query.sent = true;
    query.sentAt = performance.now();
    this.send({ ...query.frame, id: query.id });
  }

  /** Sends the next subscribe/unsubscribe when none is waiting for its answer. */
  private pump(): void {
    while (this.conn?.live && this.inFlight === undefined && this.mutations.length > 0) {
      const mutation = this.mutations.shift()!;
      // The caller's wait timed out before it was sent (again): it failed, so it is not sent.
      if (mutation.settle?.settled) continue;
      mutation.id = this.nextId++;
      this.inFlight = mutation;
      this.send(this.frameOf(mutation));
    }
  }

  private frameOf(mutation: Mutation): Record<string, unknown> {
    const { id, kind, patterns, options } = mutation;
    if (kind === 'unsubscribe') return { op: 'unsubscribe', id, topics: patterns };
    if (kind === 'subscribe') return { op: 'subscribe', id, topics: patterns, snapshot: options.snapshot, conflate: options.conflate };
    const conn = this.conn!;
    mutation.topics ??= this.topicsToResume(conn, patterns);
    const frame: Record<string, unknown> = { op: 'subscribe', id, topics: patterns, snapshot: options.snapshot, conflate: options.conflate };
    let bytes = JSON.stringify(frame).length + 12;
    const since: Record<string, Position> = {};
    let taken = 0;
    for (const topic of mutation.topics) {
      const held = this.topicStates.get(topic);
      if (held === undefined) {
        taken++;
        continue;
      }
      const entry = `${JSON.stringify(topic)}:{"epoch":${held.epoch},"seq":${held.seq}},`;
      if (bytes + entry.length > REQUEST_BYTES) break;
      bytes += entry.length;
      since[topic] = { epoch: held.epoch, seq: held.seq };
      taken++;
    }
    if (taken < mutation.topics.length) {
      // Too many topics for one request: the same patterns again with the rest. Only the last
      // part asks for snapshots, so topics resumed by a later part get none before their since.
      const rest: Mutation = { id: 0, kind: 'resubscribe', patterns, options, settle: undefined, topics: mutation.topics.slice(taken) };
      this.mutations.unshift(rest);
      frame.snapshot = false;
    }
    if (taken > 0) frame.since = since;
    this.counters.resumedTopics += Object.keys(since).length;
    return frame;
  }

  /** Held topics matching `patterns` that no earlier resubscription of this connection resumes. */
  private topicsToResume(conn: Connection, patterns: readonly string[]): string[] {
    const topics: string[] = [];
    for (const topic of this.topicStates.keys()) {
      if (conn.resumed.has(topic) || !patterns.some((pattern) => patternMatches(pattern, topic))) continue;
      conn.resumed.add(topic);
      topics.push(topic);
    }
    return topics;
  }

  private send(frame: Record<string, unknown>): void {
    const conn = this.conn;
    if (conn === undefined || conn.socket.readyState !== OPEN) return;
    try {
      conn.socket.send(JSON.stringify(frame));
    } catch (err) {
      this.abandon(conn, CloseCode.ABNORMAL, `send failed: ${(err as Error).message}`);
    }
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
