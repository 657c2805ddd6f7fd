import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { WebSocketServer, type WebSocket } from 'ws';
import { CATCH_UP_DELAYS_MS, SnapshotClient, SnapshotError, type Update } from '../client/zmq/index.js';
import { ThrottledWarning, type Logger } from '../log/index.js';
import type { BucketHistogram, LineView } from '../metrics/index.js';
import {
  CloseCode, ErrorCode, MAX_REQUEST_BYTES, nowMicros, parseRequest, patternMatches, RequestError, WS_PATH,
  SnapshotErrorCode, type ParsedRequest, type ParsedSubscribe, type Position, type RejectReason, type RequestId,
} from '../wire/index.js';
import { Admission, addressOf, REFUSAL_TEXT, SERVICE_UNAVAILABLE, type Refusal, type UpgradeRefusal } from './admission.js';
import { AuthError, Authenticator, entitles, tokenOf, type AuthOptions, type Grant } from './auth.js';
import type { BookBreak } from './books.js';
import { EventCache, missedEvent, type TopicEvent } from './cache.js';
import { coversVenue, SubscriptionIndex, upstreamPrefix, upstreamPrefixes } from './routing.js';
import { pageHandler } from './page.js';
import { spreadEvenly } from './drain.js';
import { Flusher, type FlusherOptions } from './flusher.js';
import { outbound, type OutboundEvent, type PositionedEvent } from './frames.js';
import { Replayer } from './replay.js';
import { addCounters, Session, type ReplayHold, type SessionCounters } from './session.js';
import { VenueStatusBoard, type VenueStatus } from './status.js';
import type { GatewaySettings } from './settings.js';
import { Upstream, type UpstreamOptions, type UpstreamRepair } from './upstream.js';
import { addCounts } from '../util/counts.js';

/** The gateway's own settings as configured, with what the role resolves for it (upstream, auth key, TLS files read). */
export interface GatewayOptions extends FlusherOptions, Pick<GatewaySettings,
  'host' | 'port' | 'heartbeatMs' | 'pingIntervalMs' | 'maxConnections' | 'maxSubscriptions' | 'subscribeOpsPerSecond'
  | 'bufferedHighWaterBytes' | 'maxQueuedEvents' | 'historyPerTopic' | 'drainMs' | 'replayConcurrency' | 'maxQueuedReplays'
  | 'allowedOrigins' | 'maxConnectionsPerAddress' | 'upgradesPerSecondPerAddress' | 'headersTimeoutMs'> {
  readonly upstream: UpstreamOptions;
  readonly auth: AuthOptions;
  /** PEM certificate and key: serve wss:// instead of ws://. */
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly version: string;
  /** gateway.publicBaseUrl, for the ticker page at `/` (default: relative to the page's address). */
  readonly publicBaseUrl?: string;
}

const STATUS_PREFIX = 'status.';
/** The position of a client that holds nothing of a topic (epochs are non-zero): whatever comes is newer. */
const NO_POSITION: Position = { epoch: 0, seq: 0 };
/** Distinct control texts remembered for sharing (sharedControl). */
const CONTROL_EVENTS_KEPT = 1024;
/** Errors within one second after which a client is taken to be abusive and closed (CloseCode.POLICY). */
const ABUSE_ERRORS_PER_SECOND = 20;
/** RFC 6455 close codes `ws` sends on the gateway's behalf, not the gateway's own (PROTOCOL.md section 5 has those, CloseCode). */
const PROTOCOL_ERROR = 1002;
const INVALID_FRAME_PAYLOAD = 1007;
/** setTimeout's longest delay; a later token expiry is re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** How a topic of a `since` resume was answered: up to date already, from the gateway's history, by the snapshot service's REPLAY, or with a fresh snapshot. */
export const RESUME_OUTCOMES = ['current', 'history', 'replay', 'snapshot'] as const;
export type ResumeOutcome = (typeof RESUME_OUTCOMES)[number];

export { UPGRADE_REFUSALS, type UpgradeRefusal } from './admission.js';

export interface GatewayCounters {
  opened: number;
  upgradesRefused: Map<UpgradeRefusal, number>;
  /** Topics of `since` resumes, by how they were answered. */
  resumes: Map<ResumeOutcome, number>;
  closedByCode: Map<number, number>;
  errorsByCode: Map<ErrorCode, number>;
  slowConsumerCloses: number;
  /** Ticks taken from upstream (each once, however many prefixes delivered it). */
  ticksReceived: number;
}

/** One connected client: its session (outbound queue) and what it subscribed to. */
interface Client {
  readonly session: Session;
  /** The peer's address, for gateway.maxConnectionsPerAddress. */
  readonly address: string;
  readonly socket: WebSocket;
  /** Pattern -> whether that subscription allows conflation. */
  readonly patterns: Map<string, boolean>;
  subscribeOps: { windowStart: number; count: number };
  errors: { windowStart: number; count: number };
  alive: boolean;
  /** Subscribes and unsubscribes take effect and are answered in the order they were sent. */
  changes: Promise<void>;
  /** The patterns the client's token entitles it to; undefined when authentication is off (everything). */
  /** Replaced by a `refresh`. */
  entitled: readonly string[] | undefined;
  /** Listed for the next flush pass. */
  dirty: boolean;
  /** Closes the connection (CloseCode.UNAUTHENTICATED) when the token's `exp` passes. */
  expiry: NodeJS.Timeout | undefined;
  /** The close code the gateway (or `ws` for it, refusedFrameCloseCode) sent, counted whatever the socket reports once the peer is gone. */
  closedWith: number | undefined;
}

/**
 * The WebSocket gateway of PROTOCOL.md section 5. It is itself a late joiner of the fabric
 * (Upstream), keeps every topic it holds as ready-made event texts (EventCache), and fans
 * each tick out to the matching clients (SubscriptionIndex), queued per client (Session) and
 * sent as one array frame per client per flush pass, passes spaced by their own cost (Flusher).
 */
export class Gateway {
  readonly counters: GatewayCounters = { opened: 0, upgradesRefused: new Map(), resumes: new Map(), closedByCode: new Map(), errorsByCode: new Map(), slowConsumerCloses: 0, ticksReceived: 0 };
  private readonly retired: SessionCounters = { eventsSent: 0, framesSent: 0, bytesSent: 0, conflated: 0 };
  private readonly clients = new Set<Client>();
  private readonly index = new SubscriptionIndex<Client>();
  private readonly cache: EventCache;
  private readonly statuses = new VenueStatusBoard();
  private readonly upstream: Upstream;
  private readonly lister: SnapshotClient;
  /** Undefined when gateway.maxQueuedReplays is 0: resumes beyond the history get a snapshot. */
  readonly replayer: Replayer | undefined;
  private readonly flusher: Flusher<Client>;
  private readonly controlEvents = new Map<string, OutboundEvent>();
  /** Per book topic whose book is unknown now: the clients waiting for its snapshot, each held (awaitBook). */
  private readonly bookWaits = new Map<string, Map<Client, { readonly hold: ReplayHold; readonly since: Position }>>();
  /** Upgrades whose token is being verified (they count against maxConnections). */
  private verifying = 0;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private timers: NodeJS.Timeout[] = [];
  private readonly auth: Authenticator | undefined;
  private readonly admission: Admission;
  private readonly warnings: ThrottledWarning;
  /** Set by drain() while it runs: ends it (the last client gone, the window over, or close()). */
  private endDrain: (() => void) | undefined;
  private drained: Promise<void> | undefined;

  constructor(
    private readonly options: GatewayOptions,
    private readonly log: Logger,
  ) {
    // What can refuse the options comes before any socket is opened.
    this.auth = options.auth.mode === 'none' ? undefined : new Authenticator({ ...options.auth, mode: options.auth.mode });
    this.admission = new Admission(options);
    this.warnings = new ThrottledWarning(log);
    this.http = serverFor(options.tls, pageHandler({ publicBaseUrl: options.publicBaseUrl ?? '' }), options.headersTimeoutMs);
    this.cache = new EventCache(options.historyPerTopic);
    this.flusher = new Flusher(options);
    this.upstream = new Upstream(options.upstream, (update) => this.onUpdate(update), () => this.forgetReleased(), log, (up) => this.onFabric(up));
    this.lister = new SnapshotClient({ endpoints: options.upstream.snapshotEndpoints, timeoutMs: options.upstream.snapshotTimeoutMs, curve: options.upstream.curve });
    this.replayer = options.maxQueuedReplays === 0 ? undefined : new Replayer({
      endpoints: options.upstream.snapshotEndpoints,
      timeoutMs: options.upstream.snapshotTimeoutMs,
      curve: options.upstream.curve,
      concurrency: options.replayConcurrency,
      maxQueued: options.maxQueuedReplays,
    });
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_REQUEST_BYTES });
    this.http.on('upgrade', (req, socket, head) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== WS_PATH) {
        socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
        return;
      }
      const refusal = this.refusal(req);
      if (refusal !== undefined) {
        this.counters.upgradesRefused.set(refusal.reason, (this.counters.upgradesRefused.get(refusal.reason) ?? 0) + 1);
        socket.end(refusal.response);
        return;
      }
      if (this.auth === undefined) {
        this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, undefined));
        return;
      }
      // UNAUTHENTICATED is a WebSocket close code: a client without a valid token is upgraded, then closed.
      // A peer that resets while its token is checked must not take the process down.
      socket.on('error', () => {});
      this.verifying++;
      this.auth.verify(tokenOf(req)).finally(() => this.verifying--).then(
        (grant) => this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, grant)),
        (err: Error) => this.wss.handleUpgrade(req, socket, head, (ws) => this.unauthenticated(ws, req, err)),
      );
    });
  }

  /** Why an upgrade is refused (503 draining or full, 403 origin, 429 per-address limits), or undefined. */
  private refusal(req: IncomingMessage): Refusal | undefined {
    // Upgrades still checking their token count too, or a burst of them could all pass.
    if (this.draining) return { reason: 'draining', response: SERVICE_UNAVAILABLE };
    if (this.clients.size + this.verifying >= this.options.maxConnections) return { reason: 'max_connections', response: SERVICE_UNAVAILABLE };
    const refusal = this.admission.refusal(req);
    if (refusal !== undefined) {
      this.warnings.warn(refusal.reason, { remote: addressOf(req), origin: req.headers.origin }, `WebSocket upgrade refused: ${REFUSAL_TEXT[refusal.reason]}`);
    }
    return refusal;
  }

  /** The port listened on (0 before listen()): gateway.port 0 picks a free one. */
  get port(): number {
    const address = this.http.address();
    return address !== null && typeof address === 'object' ? address.port : 0;
  }

  get connections(): number {
    return this.clients.size;
  }

  get subscriptions(): number {
    let count = 0;
    for (const client of this.clients) count += client.patterns.size;
    return count;
  }

  /** Messages from the fabric that broke the contract, by reason, dropped before any client saw them. */
  get upstreamRejects(): Map<RejectReason, number> {
    const total = this.upstream.rejected;
    addCounts(total, this.replayer?.rejected ?? []);
    return total;
  }

  /** How the upstream subscribers kept the gateway's state whole (gaps, repairs, restarts), for metrics. */
  get upstreamRepairs(): Map<UpstreamRepair, number> {
    return this.upstream.repairs;
  }

  /** Book records that left the gateway's book of their topic unknown, by reason, for metrics. */
  get bookBreaks(): ReadonlyMap<BookBreak, number> {
    return this.cache.bookBreakCounts;
  }

  /** Times a changed JWKS file (gateway.auth.jwksFile) was invalid and ignored, for metrics. */
  get jwksReloadFailures(): number {
    return this.auth?.jwksReloadFailures ?? 0;
  }

  /** The lines to the fabric (A/B), for metrics. */
  get upstreamLines(): LineView {
    return this.upstream;
  }

  /** Upstream prefixes held, for tests and metrics. */
  get upstreamPrefixes(): string[] {
    return this.upstream.prefixes;
  }

  /** Each client's outbound session, for tests and metrics. */
  get sessions(): Session[] {
    return [...this.clients].map((client) => client.session);
  }

  /** Topics held in the event cache, for tests and metrics. */
  get cachedTopics(): number {
    return this.cache.size;
  }

  /** Whether drain() was called: new clients should go elsewhere. */
  get draining(): boolean {
    return this.drained !== undefined;
  }

  /**
   * Ready when connected to the proxy and a snapshot service answers PING (without them no
   * client can get ticks or state), and not draining.
   */
  async ready(): Promise<boolean> {
    if (this.draining || !this.upstream.connected) return false;
    try {
      await this.lister.ping();
      return true;
    } catch {
      return false;
    }
  }

  /** Header ts to hand-off to the socket, sampled one event per frame. */
  get latency(): BucketHistogram {
    return this.flusher.latency;
  }

  /** Traffic counters of every session so far, including closed ones (counters never go down). */
  get traffic(): SessionCounters {
    const total = { ...this.retired };
    for (const client of this.clients) addCounters(total, client.session.counters);
    return total;
  }

  /** Bytes each client's socket holds unsent (its send queue), for the distribution metric. */
  *clientBacklogs(): IterableIterator<number> {
    for (const client of this.clients) yield client.session.bufferedBytes;
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.port, this.options.host, () => resolve());
    }).catch((err: Error) => {
      throw new Error(`cannot listen on ${this.options.host}:${this.options.port} (setting gateway.port): ${err.message}`);
    });
    const { port } = this.http.address() as { port: number };
    this.timers.push(setInterval(() => this.heartbeat(), Math.max(50, Math.floor(this.options.heartbeatMs / 4))));
    this.timers.push(setInterval(() => this.pingClients(), this.options.pingIntervalMs));
    // Events waiting for a spaced-out pass go, and clients that were behind get another chance once their socket drains.
    this.timers.push(setInterval(() => this.flusher.flushPending(), 25));
    this.log.info({ host: this.options.host, port, path: WS_PATH, tls: this.options.tls !== undefined }, 'gateway listening');
    return port;
  }

  /**
   * Drains for a deploy (PROTOCOL.md section 5): not ready from now on, so a load balancer
   * sends new clients elsewhere; new upgrades are refused (HTTP 503); the connected clients
   * keep their live stream until each is closed with CloseCode.SERVICE_RESTART, spread evenly
   * over `drainMs` (what is queued for a client goes out first). Resolves once the last client
   * is gone or the window has passed; close() then ends whatever is left.
   */
  drain(): Promise<void> {
    if (this.drained !== undefined) return this.drained;
    const clients = [...this.clients];
    const started = performance.now();
    this.log.info({ clients: clients.length, drainMs: this.options.drainMs }, 'gateway draining');
    this.drained = new Promise<void>((resolve) => {
      const closing = spreadEvenly(clients, this.options.drainMs, (client) => this.restartClient(client));
      // A late event loop can put the last slices past the window: they are closed with 1012 now, not left to close()'s 1001.
      const windowTimer = setTimeout(() => {
        closing.finish();
        this.endDrain?.();
      }, this.options.drainMs);
      this.endDrain = () => {
        this.endDrain = undefined;
        clearTimeout(windowTimer);
        closing.stop();
        this.log.info({ clients: clients.length, left: this.clients.size, elapsedMs: Math.round(performance.now() - started) }, 'gateway drained');
        resolve();
      };
      if (this.clients.size === 0) this.endDrain();
    });
    return this.drained;
  }

  /** Stops accepting, closes every client (CloseCode.GOING_AWAY), and leaves the fabric. */
  async close(): Promise<void> {
    this.endDrain?.();
    for (const timer of this.timers) clearInterval(timer);
    this.http.close();
    this.flusher.flushAll(this.clients);
    for (const client of this.clients) this.closeClient(client, CloseCode.GOING_AWAY, 'server shutting down');
    await Promise.all([...this.clients].map((client) => new Promise((resolve) => {
      client.socket.once('close', resolve);
      setTimeout(() => {
        client.socket.terminate();
        resolve(undefined);
      }, 500).unref();
    })));
    this.http.closeAllConnections();
    this.lister.close();
    this.replayer?.close();
    await this.upstream.close();
  }

  /** Closes a just-upgraded connection whose token was refused (UNAUTHENTICATED or FORBIDDEN), without a welcome. */
  private unauthenticated(socket: WebSocket, req: IncomingMessage, err: Error): void {
    const [code, reason] = err instanceof AuthError ? [err.closeCode, err.message] : [CloseCode.UNAUTHENTICATED, 'unauthenticated'];
    this.counters.closedByCode.set(code, (this.counters.closedByCode.get(code) ?? 0) + 1);
    this.log.debug({ remote: req.socket.remoteAddress, code, reason }, 'client refused');
    socket.on('error', () => {});
    socket.close(code, reason);
  }

  private accept(socket: WebSocket, req: IncomingMessage, grant: Grant | undefined): void {
    const session = new Session(randomBytes(12).toString('base64url'), socket, {
      bufferedHighWater: this.options.bufferedHighWaterBytes,
      maxQueuedEvents: this.options.maxQueuedEvents,
    }, () => {
      this.counters.slowConsumerCloses++;
      client.closedWith ??= CloseCode.SLOW_CONSUMER;
    }, {
      clock: () => this.cache.clock,
      changedSince: (since) => this.changedTopics(client, since),
      bookSince: (topic, from) => this.cache.bookSince(topic, from),
    });
    const now = Date.now();
    const client: Client = {
      session, socket, address: addressOf(req), patterns: new Map(), subscribeOps: { windowStart: now, count: 0 }, errors: { windowStart: now, count: 0 }, alive: true,
      changes: Promise.resolve(), dirty: false, entitled: grant?.patterns, expiry: undefined, closedWith: undefined,
    };
    if (grant?.expiresAt !== undefined) this.expireAt(client, grant.expiresAt);
    this.clients.add(client);
    this.admission.opened(client.address);
    this.counters.opened++;
    this.log.debug({ session: session.id, remote: req.socket.remoteAddress }, 'client connected');
    socket.on('message', (data, isBinary) => this.onMessage(client, isBinary ? undefined : data.toString()));
    socket.on('pong', () => (client.alive = true));
    socket.on('error', (err) => {
      client.closedWith ??= refusedFrameCloseCode(err);
      this.log.debug({ session: session.id, err: err.message }, 'client socket error');
    });
    socket.on('close', (code) => this.drop(client, code));
    this.control(client, { type: 'welcome', session: session.id, server: `tickfan/${this.options.version}`, heartbeatMs: this.options.heartbeatMs });
    // Its token was being checked when the drain began: it goes elsewhere too.
    if (this.draining) this.restartClient(client);
  }

  /** Sends what is queued for a client, then closes it with CloseCode.SERVICE_RESTART (draining). */
  private restartClient(client: Client): void {
    if (!this.clients.has(client)) return;
    this.flusher.flush(client);
    this.closeClient(client, CloseCode.SERVICE_RESTART, 'server restarting: reconnect');
  }

  /** Arms the client's expiry timer: when `expiresAt` passes, the connection is closed (CloseCode.UNAUTHENTICATED). */
  private expireAt(client: Client, expiresAt: number): void {
    const left = expiresAt - Date.now();
    client.expiry = setTimeout(() => {
      if (left > MAX_TIMER_MS) return this.expireAt(client, expiresAt);
      client.expiry = undefined;
      this.flusher.flush(client);
      this.closeClient(client, CloseCode.UNAUTHENTICATED, 'token expired');
    }, Math.min(Math.max(left, 0), MAX_TIMER_MS));
  }

  private onMessage(client: Client, text: string | undefined): void {
    let request: ParsedRequest;
    try {
      if (text === undefined) throw new RequestError(ErrorCode.BAD_REQUEST, 'binary frames are not accepted: send JSON text', undefined);
      request = parseRequest(text);
    } catch (err) {
      if (!(err instanceof RequestError)) throw err;
      return this.refuse(client, err);
    }
    switch (request.op) {
      case 'ping':
        return this.control(client, { type: 'pong', id: request.id });
      case 'list':
        return void this.list(client, request.id, request.prefix);
      case 'unsubscribe':
        return this.inOrder(client, () => this.unsubscribe(client, request.id, request.patterns));
      case 'refresh':
        // After the subscription changes before it, so the entitlement check sees them.
        return this.inOrder(client, () => this.refresh(client, request.id, request.token));
      case 'subscribe':
        // Counted as it arrives, not when its turn comes.
        if (withinWindow(client.subscribeOps) > this.options.subscribeOpsPerSecond) {
          return this.refuse(client, new RequestError(ErrorCode.RATE_LIMITED, `at most ${this.options.subscribeOpsPerSecond} subscribe requests per second`, request.id));
        }
        if (client.entitled !== undefined) {
          const entitled = client.entitled;
          const outside = request.patterns.filter((pattern) => !entitles(entitled, pattern));
          if (outside.length > 0) {
            return this.refuse(client, new RequestError(ErrorCode.FORBIDDEN, `outside your entitlements: ${outside.slice(0, 10).map((p) => JSON.stringify(p)).join(', ')}${outside.length > 10 ? ', ...' : ''}`, request.id));
          }
        }
        return this.inOrder(client, () => this.subscribe(client, request).catch((err: Error) => {
          // Not the request's fault: a failure on this side, which may pass.
          this.refuse(client, err instanceof RequestError ? err : new RequestError(ErrorCode.UNAVAILABLE, `subscribe failed: ${err.message}`, request.id));
        }));
    }
  }

  /**
   * A new token for a live session: when it verifies and entitles every pattern the client
   * holds, its grant replaces the old one and its `exp` the old expiry, so a client extends
   * its session before it is closed with 4001. Otherwise the old grant stays and the refresh
   * is refused (BAD_REQUEST for a token that does not verify, FORBIDDEN for one that would not
   * cover what the client already follows).
   */
  private async refresh(client: Client, id: RequestId | undefined, token: string): Promise<void> {
    if (this.auth === undefined) return this.refuse(client, new RequestError(ErrorCode.BAD_REQUEST, 'authentication is off: there is no token to refresh', id));
    let grant: Grant;
    try {
      grant = await this.auth.verify(token);
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      return this.refuse(client, new RequestError(ErrorCode.BAD_REQUEST, `refresh refused: ${err.message}`, id));
    }
    if (!this.clients.has(client)) return;
    const outside = [...client.patterns.keys()].filter((pattern) => !entitles(grant.patterns, pattern));
    if (outside.length > 0) {
      return this.refuse(client, new RequestError(ErrorCode.FORBIDDEN, `refresh refused: the new token does not entitle ${outside.slice(0, 10).map((p) => JSON.stringify(p)).join(', ')}, which this session follows`, id));
    }
    client.entitled = grant.patterns;
    clearTimeout(client.expiry);
    client.expiry = undefined;
    if (grant.expiresAt !== undefined) this.expireAt(client, grant.expiresAt);
    this.control(client, { type: 'refreshed', id, ...(grant.expiresAt === undefined ? {} : { exp: grant.expiresAt / 1000 }) });
  }

  /**
   * Runs a subscription change after the client's earlier ones. A subscribe waits for upstream
   * state; without this, an unsubscribe sent after it could be answered first and then undone,
   * and two subscribes of one pattern could both take an upstream reference.
   */
  private inOrder(client: Client, change: () => void | Promise<void>): void {
    client.changes = client.changes.then(change).catch((err: Error) => {
      this.log.error({ session: client.session.id, err: err.message }, 'subscription change failed');
    });
  }

  private async subscribe(client: Client, request: ParsedSubscribe): Promise<void> {
    if (client.socket.readyState !== client.socket.OPEN) return;
    const added = request.patterns.filter((pattern) => !client.patterns.has(pattern));
    if (client.patterns.size + added.length > this.options.maxSubscriptions) {
      throw new RequestError(ErrorCode.TOO_MANY_SUBSCRIPTIONS, `at most ${this.options.maxSubscriptions} subscriptions per connection`, request.id);
    }
    // Hold the state of every needed prefix first, then register and answer in one turn, so
    // no live tick can reach the client before its `subscribed` and snapshot events.
    const prefixes = added.flatMap(upstreamPrefixes);
    const wanted = await Promise.allSettled(prefixes.map((prefix) => this.upstream.want(prefix)));
    const failed = wanted.find((result) => result.status === 'rejected');
    if (failed || client.socket.readyState !== client.socket.OPEN) {
      wanted.forEach((result, i) => result.status === 'fulfilled' && this.unwant(prefixes[i]!));
      if (failed) throw new RequestError(ErrorCode.UNAVAILABLE, `state unavailable: ${(failed as PromiseRejectedResult).reason.message}`, request.id);
      return;
    }
    for (const pattern of added) this.index.add(client, pattern);
    for (const pattern of request.patterns) client.patterns.set(pattern, request.conflate);
    client.session.conflate = [...client.patterns.values()].every(Boolean);
    this.control(client, { type: 'subscribed', id: request.id, topics: request.patterns });
    this.sendInitialState(client, request, added);
    for (const status of this.statuses.notUp()) {
      if (request.patterns.some((pattern) => coversVenue(pattern, status.venue))) this.control(client, status.text);
    }
  }

  /**
   * The snapshot (or the `since` answer) of every cached topic the request's new patterns
   * match. A topic the client already follows (through a pattern it held before, or an earlier
   * pattern of this request) goes on as it is: resuming or snapshotting it again would repeat seqs.
   */
  private sendInitialState(client: Client, request: ParsedSubscribe, added: readonly string[]): void {
    const { session } = client;
    const heldBefore = [...client.patterns.keys()].filter((pattern) => !added.includes(pattern));
    const started = new Set<string>();
    for (const pattern of added) {
      for (const topic of this.cache.topicsWithPrefix(upstreamPrefix(pattern))) {
        if (!patternMatches(pattern, topic) || started.has(topic) || heldBefore.some((held) => patternMatches(held, topic))) continue;
        started.add(topic);
        const since = request.since.get(topic);
        if (since !== undefined) {
          this.resume(client, topic, since);
        } else if (request.snapshot) {
          const snapshot = this.cache.snapshot(topic);
          if (snapshot === undefined) this.awaitBook(client, topic, NO_POSITION);
          else session.offer(topic, snapshot.epoch, snapshot.seq, snapshot.event);
        }
      }
    }
    this.flusher.markDirty(client);
  }

  /**
   * Answers one topic of a `since`: the missed ticks from the cache's history, nothing when
   * the client is up to date, a snapshot when the epoch changed; when the history does not
   * reach back far enough, the missed ticks from the snapshot service (replayMissed).
   */
  private resume(client: Client, topic: string, since: Position): void {
    const { session } = client;
    const answer = this.cache.resume(topic, since.epoch, since.seq);
    if (answer.kind === 'not_retained' && this.replayer !== undefined) {
      void this.replayMissed(client, session.holdForReplay(topic, since.epoch, since.seq), since);
      return;
    }
    session.resumeFrom(topic, since.epoch, since.seq);
    if (answer.kind === 'events') {
      this.countResume('history');
      for (const { epoch, seq, event } of answer.events) session.offer(topic, epoch, seq, event);
    } else if (answer.kind === 'nothing') {
      this.countResume('current');
    } else {
      this.countResume('snapshot');
      const snapshot = answer.kind === 'snapshot' ? answer.event : this.cache.snapshot(topic);
      if (snapshot === undefined) return this.awaitBook(client, topic, since);
      session.offer(topic, snapshot.epoch, snapshot.seq, snapshot.event);
    }
  }

  /**
   * The ticks a resuming client missed before the cache's history begins, asked of the snapshot
   * service (REPLAY) while the client's live ticks of the topic are held back; then the
   * replayed ticks, and the cache's history after them (what arrived meanwhile), go out in
   * order, each once. A fresh snapshot instead when the service cannot bridge the gap (GONE,
   * no answer in time, the queue full, the epoch changed meanwhile).
   */
  private async replayMissed(client: Client, hold: ReplayHold, since: Position): Promise<void> {
    const { topic } = hold;
    const replayed: PositionedEvent[] = [];
    let next = since.seq + 1;
    let bridged: readonly PositionedEvent[] | undefined;
    // Asked again while the service has not caught up (UNAVAILABLE, or what it retains ends
    // before the cache's history begins): it is a subscriber too, and can lag this gateway.
    for (let attempt = 0; attempt <= CATCH_UP_DELAYS_MS.length && bridged === undefined; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, CATCH_UP_DELAYS_MS[attempt - 1]));
      const answer = await this.replayer!.replay(topic, since.epoch, next);
      if (!this.clients.has(client) || !client.session.holds(hold)) return;
      if (answer.result === 'ok') {
        for (const { header, frames } of answer.records) {
          // No ts: an old tick's age is not a delivery delay to sample as latency.
          replayed.push(missedEvent({ topic, epoch: header.epoch, seq: header.seq, ts: header.ts, payload: frames[2] }, undefined));
        }
        next += answer.records.length;
      } else if (answer.result !== 'unavailable') {
        this.log.debug({ topic, epoch: since.epoch, fromSeq: next, result: answer.result, reason: answer.reason }, 'resume answered with a snapshot');
        break;
      }
      const after = this.cache.resume(topic, since.epoch, next - 1);
      if (after.kind === 'events') bridged = after.events;
      else if (after.kind === 'nothing') bridged = [];
      else if (after.kind === 'snapshot') break;
    }
    const snapshot = this.cache.snapshot(topic);
    this.countResume(bridged !== undefined ? 'replay' : 'snapshot');
    if (bridged === undefined && snapshot === undefined && this.cache.has(topic)) return this.awaitBook(client, topic, since, hold);
    const events = bridged !== undefined ? [...replayed, ...bridged] : snapshot === undefined ? [] : [snapshot];
    client.session.endReplay(hold, since, events);
    this.flusher.markDirty(client);
  }

  /**
   * Holds `client`'s events of a book topic whose book the gateway does not know now (a record
   * broke it) until the next snapshot record makes it known: then the whole book goes first, as a
   * snapshot event (releaseBookWaits). Waiting, not an error event: the client is subscribed (a
   * pattern may match many topics), and a book topic's first event must be a snapshot.
   */
  private awaitBook(client: Client, topic: string, since: Position, hold = client.session.holdForReplay(topic, since.epoch, since.seq)): void {
    let waits = this.bookWaits.get(topic);
    if (waits === undefined) this.bookWaits.set(topic, (waits = new Map()));
    waits.set(client, { hold, since });
  }

  /** The clients waiting for `topic`'s book get its snapshot, once the book is known again. */
  private releaseBookWaits(topic: string): void {
    const waits = this.bookWaits.get(topic);
    const snapshot = waits && this.cache.snapshot(topic);
    if (snapshot === undefined) return;
    this.bookWaits.delete(topic);
    for (const [client, { hold, since }] of waits!) {
      if (!this.clients.has(client) || !client.session.holds(hold)) continue;
      client.session.endReplay(hold, since, [snapshot]);
      this.flusher.markDirty(client);
    }
  }

  private countResume(outcome: ResumeOutcome): void {
    this.counters.resumes.set(outcome, (this.counters.resumes.get(outcome) ?? 0) + 1);
  }

  private unsubscribe(client: Client, id: RequestId | undefined, patterns: readonly string[]): void {
    const released: string[] = [];
    for (const pattern of patterns) {
      if (!client.patterns.delete(pattern)) continue;
      this.index.remove(client, pattern);
      released.push(...upstreamPrefixes(pattern));
    }
    client.session.conflate = [...client.patterns.values()].every(Boolean);
    // Topics no remaining pattern matches start afresh (with a snapshot) if subscribed again.
    // Taken before releasing the prefixes: that drops their topics from the cache.
    const remaining = [...client.patterns.keys()];
    for (const pattern of patterns) {
      for (const topic of this.cache.topicsWithPrefix(upstreamPrefix(pattern))) {
        if (patternMatches(pattern, topic) && !remaining.some((p) => patternMatches(p, topic))) client.session.forget(topic);
      }
    }
    for (const prefix of released) this.unwant(prefix);
    this.control(client, { type: 'unsubscribed', id, topics: patterns });
  }

  private async list(client: Client, id: RequestId | undefined, prefix: string): Promise<void> {
    const held = this.upstream.readyPrefixes.some((p) => prefix.startsWith(p));
    try {
      const topics = held ? this.cache.topicsWithPrefix(prefix) : (await this.lister.snapshot(prefix)).map((m) => m.topic).filter((topic) => !topic.startsWith(STATUS_PREFIX));
      const entitled = client.entitled;
      this.control(client, { type: 'topics', id, topics: entitled === undefined ? topics : topics.filter((topic) => entitles(entitled, topic)) });
    } catch (err) {
      this.refuse(client, listRefusal(err as Error, id));
    }
  }

  private onUpdate(update: Update): void {
    if (update.topic.startsWith(STATUS_PREFIX)) return this.onStatus(update);
    this.counters.ticksReceived++;
    const event = this.cache.apply(update);
    if (event === undefined) return;
    // Before the live offers: a released client's snapshot is at this record's seq, so the record itself is not offered to it again.
    if (this.bookWaits.size > 0) this.releaseBookWaits(update.topic);
    let queued = false;
    for (const client of this.index.matching(update.topic)) {
      if (!client.session.offerLive(update.topic, update.epoch, update.seq, event)) continue;
      queued = true;
      this.flusher.markDirty(client);
    }
    // Built now, once for every client that queued it: left to the first flush, a queued event would keep the received frames alive.
    if (queued) void event.text;
  }

  /**
   * The newest tick of each topic `client` follows that changed after `since` (a cache clock
   * value): a conflating client's next frame, found in O(its topics), however many ticks came.
   */
  private *changedTopics(client: Client, since: number): Generator<TopicEvent> {
    const seen = new Set<string>();
    for (const pattern of client.patterns.keys()) {
      for (const topic of this.cache.topicsWithPrefix(upstreamPrefix(pattern))) {
        if (seen.has(topic) || !patternMatches(pattern, topic)) continue;
        seen.add(topic);
        const changed = this.cache.changedSince(topic, since);
        if (changed !== undefined) yield changed;
      }
    }
  }

  /** A venue's feed status changed: every client whose patterns can match its ticks hears of it. */
  private onStatus(update: Update): void {
    const status = this.statuses.apply(update);
    if (status !== undefined) this.announce(status);
  }

  /** The last line to the fabric went down, or the first came back: clients hear it as each venue's status. */
  private onFabric(up: boolean): void {
    const reason = up ? undefined : `no line to the fabric is up (${this.options.upstream.backends.join(', ')})`;
    for (const status of this.statuses.setCutOff(reason)) this.announce(status);
  }

  private announce(status: VenueStatus): void {
    for (const client of this.clients) {
      if ([...client.patterns.keys()].some((pattern) => coversVenue(pattern, status.venue))) this.control(client, status.text);
    }
  }

  /** Releases one reference on an upstream prefix; when it was the last, drops the topics nothing holds any more. */
  private unwant(prefix: string): void {
    this.upstream.unwant(prefix);
  }

  /** Drops the cached topics no followed prefix covers any more: memory follows interest. */
  private forgetReleased(): void {
    const held = this.upstream.prefixes;
    const wanted = (topic: string): boolean => held.some((p) => topic.startsWith(p));
    this.cache.retain(wanted);
    this.statuses.retain(wanted);
    for (const topic of this.bookWaits.keys()) if (!wanted(topic)) this.bookWaits.delete(topic);
  }

  private refuse(client: Client, err: RequestError): void {
    this.counters.errorsByCode.set(err.code, (this.counters.errorsByCode.get(err.code) ?? 0) + 1);
    this.control(client, { type: 'error', id: err.id, code: err.code, message: err.message });
    if (withinWindow(client.errors) > ABUSE_ERRORS_PER_SECOND) {
      this.flusher.flush(client);
      this.closeClient(client, CloseCode.POLICY, 'too many bad requests');
    }
  }

  /**
   * One event per distinct control text, for a while: clients that subscribe alike (same id,
   * same patterns, as a fleet of SDK clients does) then queue the very same events and share
   * their whole first frame, a `subscribed` and a snapshot of every topic. Bounded: forgotten
   * past CONTROL_EVENTS_KEPT texts.
   */
  private sharedControl(text: string): OutboundEvent {
    let event = this.controlEvents.get(text);
    if (event === undefined) {
      if (this.controlEvents.size >= CONTROL_EVENTS_KEPT) this.controlEvents.clear();
      event = outbound(text);
      this.controlEvents.set(text, event);
    }
    return event;
  }

  private control(client: Client, event: Record<string, unknown> | string): void {
    client.session.sendControl(this.sharedControl(typeof event === 'string' ? event : JSON.stringify(event)));
    this.flusher.markDirty(client);
  }

  /**
   * One heartbeat event per pass, shared by every quiet client: its text is built once, and
   * clients with nothing else pending then send the same frame bytes (FrameBuilder). Built per
   * client, 10,000 idle clients cost the gateway 8% of a core (bench:connections).
   */
  private heartbeat(): void {
    const quietSince = Date.now() - this.options.heartbeatMs;
    let beat: OutboundEvent | undefined;
    for (const client of this.clients) {
      if (client.session.lastFrameAt > quietSince || client.session.hasNews) continue;
      beat ??= outbound(JSON.stringify({ type: 'heartbeat', ts: nowMicros() }));
      client.session.sendControl(beat);
      this.flusher.markDirty(client);
    }
  }

  /**
   * WebSocket-level ping: a peer that did not answer the previous one is dead and terminated,
   * unless it is behind with conflation off: then it stopped reading, and is closed as a slow
   * consumer. Terminated at the next check if it answers neither that close nor pings, so a
   * stuck peer costs at most two more ping intervals (`ws` alone would wait 30 s for its close).
   */
  private pingClients(): void {
    for (const client of this.clients) {
      if (!client.alive) {
        if (!client.session.closeIfSlow()) client.socket.terminate();
        continue;
      }
      client.alive = false;
      client.socket.ping();
    }
  }

  /**
   * Closes a client's connection with `code`, counted as that code when it ends. A peer that
   * answers neither the close nor pings is terminated by the ping check (pingClients).
   */
  private closeClient(client: Client, code: CloseCode, reason: string): void {
    client.closedWith ??= code;
    client.socket.close(code, reason);
  }

  private drop(client: Client, code: number): void {
    if (!this.clients.delete(client)) return;
    this.admission.closed(client.address);
    clearTimeout(client.expiry);
    // A peer that never answered the gateway's close ends as ABNORMAL for `ws`; what counts is why it was closed.
    code = client.closedWith ?? code;
    for (const pattern of client.patterns.keys()) {
      this.index.remove(client, pattern);
      for (const prefix of upstreamPrefixes(pattern)) this.unwant(prefix);
    }
    for (const [topic, waits] of this.bookWaits) if (waits.delete(client) && waits.size === 0) this.bookWaits.delete(topic);
    this.counters.closedByCode.set(code, (this.counters.closedByCode.get(code) ?? 0) + 1);
    addCounters(this.retired, client.session.counters);
    this.log.debug({ session: client.session.id, code }, 'client disconnected');
    if (this.clients.size === 0) this.endDrain?.();
  }
}

/**
 * Why a `list` failed, for the client: a reply too large for the snapshot service or a prefix
 * it refuses is the request's (BAD_REQUEST: narrow or fix the prefix); no service answering, a
 * service that cannot answer now, or an unreadable reply is temporary (UNAVAILABLE: the same
 * request may succeed later).
 */
function listRefusal(err: Error, id: RequestId | undefined): RequestError {
  if (err instanceof SnapshotError && err.code === SnapshotErrorCode.TOO_LARGE) return new RequestError(ErrorCode.BAD_REQUEST, 'too many topics: narrow the prefix', id);
  const temporary = !(err instanceof SnapshotError) || err.retryable;
  return new RequestError(temporary ? ErrorCode.UNAVAILABLE : ErrorCode.BAD_REQUEST, `topics unavailable: ${err.message}`, id);
}

/**
 * The close code `ws` sent when it refused a client's frame itself (its error codes, WS_ERR_*):
 * 1009 over MAX_REQUEST_BYTES, 1007 a text frame that is not UTF-8, 1008 too many fragments, 1002
 * any other breach of RFC 6455. The gateway never sees such a frame; without this its close would
 * be counted as ABNORMAL, since `ws` stops reading and never gets the peer's close frame.
 * Undefined for an error that is no refusal (the connection reset).
 */
function refusedFrameCloseCode(err: Error & { code?: string }): number | undefined {
  switch (err.code) {
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
    case 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH':
      return CloseCode.TOO_BIG;
    case 'WS_ERR_INVALID_UTF8':
      return INVALID_FRAME_PAYLOAD;
    case 'WS_ERR_TOO_MANY_BUFFERED_PARTS':
      return CloseCode.POLICY;
    default:
      return err.code?.startsWith('WS_ERR_') ? PROTOCOL_ERROR : undefined;
  }
}

/** Counts one more event in a one-second window and returns the count so far. */
function withinWindow(window: { windowStart: number; count: number }): number {
  const now = Date.now();
  if (now - window.windowStart >= 1000) {
    window.windowStart = now;
    window.count = 0;
  }
  return ++window.count;
}

/**
 * An HTTPS server (the gateway's wss://) when a certificate is configured, else plain HTTP.
 * A client gets `headersTimeoutMs` to send its request; Node checks that only every
 * connectionsCheckingInterval (30 s by default), so the interval shrinks with the bound.
 */
function serverFor(tls: GatewayOptions['tls'], listener: RequestListener, headersTimeoutMs: number): Server {
  const limits = { headersTimeout: headersTimeoutMs, requestTimeout: headersTimeoutMs, connectionsCheckingInterval: Math.max(50, Math.min(1000, headersTimeoutMs / 4)) };
  if (tls === undefined) return createServer(limits, listener);
  try {
    return createTlsServer({ ...tls, ...limits }, listener);
  } catch (err) {
    throw new Error(`gateway.tls.certFile and gateway.tls.keyFile are not a usable certificate and key: ${(err as Error).message}`);
  }
}
