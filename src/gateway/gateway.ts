import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { SnapshotClient, SnapshotError, type Update } from '../client/zmq/index.js';
import type { Logger } from '../log/index.js';
import { nowMicros } from '../wire/index.js';
import { AuthError, Authenticator, entitles, tokenOf, type AuthOptions, type Grant } from './auth.js';
import { EventCache } from './cache.js';
import { parseRequest, RequestError, type ClientRequest, type ErrorCode, type RequestId } from './requests.js';
import { patternMatches, SubscriptionIndex, upstreamPrefix } from './routing.js';
import { pageHandler } from './page.js';
import { Session } from './session.js';
import { Upstream, type UpstreamOptions } from './upstream.js';

export interface GatewayOptions {
  readonly host: string;
  readonly port: number;
  readonly heartbeatMs: number;
  readonly pingIntervalMs: number;
  readonly maxConnections: number;
  readonly maxSubscriptions: number;
  readonly subscribeOpsPerSecond: number;
  readonly bufferedHighWaterBytes: number;
  readonly maxQueuedEvents: number;
  readonly historyPerTopic: number;
  readonly upstream: UpstreamOptions;
  readonly auth: AuthOptions;
  readonly version: string;
  /** gateway.publicBaseUrl, for the ticker page at `/` (default: relative to the page's address). */
  readonly publicBaseUrl?: string;
}

export const WS_PATH = '/v1/ws';
export const MAX_PAYLOAD_BYTES = 64 * 1024;
/** Errors within one second after which a client is taken to be abusive and closed with 1008. */
const ABUSE_ERRORS_PER_SECOND = 20;
/** setTimeout's longest delay; a later token expiry is re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface GatewayCounters {
  opened: number;
  closedByCode: Map<number, number>;
  errorsByCode: Map<ErrorCode, number>;
  slowConsumerCloses: number;
}

/** One connected client: its session (outbound queue) and what it subscribed to. */
interface Client {
  readonly session: Session;
  readonly socket: WebSocket;
  /** Pattern -> whether that subscription allows conflation. */
  readonly patterns: Map<string, boolean>;
  subscribeOps: { windowStart: number; count: number };
  errors: { windowStart: number; count: number };
  alive: boolean;
  /** Subscribes and unsubscribes take effect and are answered in the order they were sent. */
  changes: Promise<void>;
  /** The patterns the client's token entitles it to; undefined when authentication is off (everything). */
  readonly entitled: readonly string[] | undefined;
  /** Closes the connection with 4001 when the token's `exp` passes. */
  expiry: NodeJS.Timeout | undefined;
}

/**
 * The WebSocket gateway of PROTOCOL.md section 5. It is itself a late joiner of the fabric
 * (Upstream), keeps every topic it holds as ready-made event texts (EventCache), and fans
 * each tick out to the matching clients (SubscriptionIndex), queued per client and flushed
 * as one array frame per client per event-loop turn (Session).
 */
export class Gateway {
  readonly counters: GatewayCounters = { opened: 0, closedByCode: new Map(), errorsByCode: new Map(), slowConsumerCloses: 0 };
  private readonly clients = new Set<Client>();
  private readonly index = new SubscriptionIndex<Client>();
  private readonly cache: EventCache;
  private readonly upstream: Upstream;
  private readonly lister: SnapshotClient;
  private readonly dirty = new Set<Client>();
  private flushScheduled = false;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private timers: NodeJS.Timeout[] = [];
  private readonly auth: Authenticator | undefined;

  constructor(
    private readonly options: GatewayOptions,
    private readonly log: Logger,
  ) {
    this.auth = options.auth.mode === 'none' ? undefined : new Authenticator({ ...options.auth, mode: options.auth.mode });
    this.cache = new EventCache(options.historyPerTopic);
    this.upstream = new Upstream(options.upstream, (update) => this.onUpdate(update), () => this.forgetReleased(), log);
    this.lister = new SnapshotClient({ endpoints: options.upstream.snapshotEndpoints, timeoutMs: options.upstream.snapshotTimeoutMs });
    this.http = createServer(pageHandler({ publicBaseUrl: options.publicBaseUrl ?? '' }));
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD_BYTES });
    this.http.on('upgrade', (req, socket, head) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== WS_PATH) {
        socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
        return;
      }
      if (this.clients.size >= options.maxConnections) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\r\n');
        return;
      }
      if (this.auth === undefined) {
        this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, undefined));
        return;
      }
      // 4001 is a WebSocket close code: a client without a valid token is upgraded, then closed.
      // A peer that resets while its token is checked must not take the process down.
      socket.on('error', () => {});
      this.auth.verify(tokenOf(req)).then(
        (grant) => this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, grant)),
        (err: Error) => this.wss.handleUpgrade(req, socket, head, (ws) => this.unauthenticated(ws, req, err)),
      );
    });
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

  /** Ready when a snapshot service answers PING: without one no client can get state. */
  async ready(): Promise<boolean> {
    try {
      await this.lister.ping();
      return true;
    } catch {
      return false;
    }
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
    // Clients that were behind get another chance once their socket drains.
    this.timers.push(setInterval(() => this.flushAll(), 25));
    this.log.info({ host: this.options.host, port, path: WS_PATH }, 'gateway listening');
    return port;
  }

  /** Stops accepting, closes every client with 1001 (going away), and leaves the fabric. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.http.close();
    this.flushAll();
    for (const client of this.clients) client.socket.close(1001, 'server shutting down');
    await Promise.all([...this.clients].map((client) => new Promise((resolve) => {
      client.socket.once('close', resolve);
      setTimeout(() => {
        client.socket.terminate();
        resolve(undefined);
      }, 500).unref();
    })));
    this.http.closeAllConnections();
    this.lister.close();
    await this.upstream.close();
  }

  /** Closes a just-upgraded connection whose token did not verify with 4001, without a welcome. */
  private unauthenticated(socket: WebSocket, req: IncomingMessage, err: Error): void {
    const reason = err instanceof AuthError ? err.message : 'unauthenticated';
    this.counters.closedByCode.set(4001, (this.counters.closedByCode.get(4001) ?? 0) + 1);
    this.log.debug({ remote: req.socket.remoteAddress, reason }, 'client refused: not authenticated');
    socket.on('error', () => {});
    socket.close(4001, reason);
  }

  private accept(socket: WebSocket, req: IncomingMessage, grant: Grant | undefined): void {
    const session = new Session(randomBytes(12).toString('base64url'), socket, {
      bufferedHighWater: this.options.bufferedHighWaterBytes,
      maxQueuedEvents: this.options.maxQueuedEvents,
    }, () => this.counters.slowConsumerCloses++);
    const now = Date.now();
    const client: Client = {
      session, socket, patterns: new Map(), subscribeOps: { windowStart: now, count: 0 }, errors: { windowStart: now, count: 0 }, alive: true,
      changes: Promise.resolve(), entitled: grant?.patterns, expiry: undefined,
    };
    if (grant?.expiresAt !== undefined) this.expireAt(client, grant.expiresAt);
    this.clients.add(client);
    this.counters.opened++;
    this.log.debug({ session: session.id, remote: req.socket.remoteAddress }, 'client connected');
    socket.on('message', (data, isBinary) => this.onMessage(client, isBinary ? undefined : data.toString()));
    socket.on('pong', () => (client.alive = true));
    socket.on('error', (err) => this.log.debug({ session: session.id, err: err.message }, 'client socket error'));
    socket.on('close', (code) => this.drop(client, code));
    this.control(client, { type: 'welcome', session: session.id, server: `tickfan/${this.options.version}`, heartbeatMs: this.options.heartbeatMs });
  }

  /** Arms the client's expiry timer: when `expiresAt` passes, the connection is closed with 4001. */
  private expireAt(client: Client, expiresAt: number): void {
    const left = expiresAt - Date.now();
    client.expiry = setTimeout(() => {
      if (left > MAX_TIMER_MS) return this.expireAt(client, expiresAt);
      client.expiry = undefined;
      this.flush(client);
      client.socket.close(4001, 'token expired');
    }, Math.min(Math.max(left, 0), MAX_TIMER_MS));
  }

  private onMessage(client: Client, text: string | undefined): void {
    let request: ClientRequest;
    try {
      if (text === undefined) throw new RequestError('BAD_REQUEST', 'binary frames are not accepted: send JSON text', undefined);
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
      case 'subscribe':
        // Counted as it arrives, not when its turn comes.
        if (withinWindow(client.subscribeOps) > this.options.subscribeOpsPerSecond) {
          return this.refuse(client, new RequestError('RATE_LIMITED', `at most ${this.options.subscribeOpsPerSecond} subscribe requests per second`, request.id));
        }
        if (client.entitled !== undefined) {
          const entitled = client.entitled;
          const outside = request.patterns.filter((pattern) => !entitles(entitled, pattern));
          if (outside.length > 0) {
            return this.refuse(client, new RequestError('FORBIDDEN', `outside your entitlements: ${outside.slice(0, 10).map((p) => JSON.stringify(p)).join(', ')}${outside.length > 10 ? ', ...' : ''}`, request.id));
          }
        }
        return this.inOrder(client, () => this.subscribe(client, request).catch((err: Error) => {
          this.refuse(client, err instanceof RequestError ? err : new RequestError('BAD_REQUEST', `subscribe failed: ${err.message}`, request.id));
        }));
    }
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

  private async subscribe(client: Client, request: Extract<ClientRequest, { op: 'subscribe' }>): Promise<void> {
    if (client.socket.readyState !== client.socket.OPEN) return;
    const added = request.patterns.filter((pattern) => !client.patterns.has(pattern));
    if (client.patterns.size + added.length > this.options.maxSubscriptions) {
      throw new RequestError('TOO_MANY_SUBSCRIPTIONS', `at most ${this.options.maxSubscriptions} subscriptions per connection`, request.id);
    }
    // Hold the state of every needed prefix first, then register and answer in one turn, so
    // no live tick can reach the client before its `subscribed` and snapshot events.
    const prefixes = added.map(upstreamPrefix);
    const wanted = await Promise.allSettled(prefixes.map((prefix) => this.upstream.want(prefix)));
    const failed = wanted.find((result) => result.status === 'rejected');
    if (failed || client.socket.readyState !== client.socket.OPEN) {
      wanted.forEach((result, i) => result.status === 'fulfilled' && this.unwant(prefixes[i]!));
      if (failed) throw new RequestError('BAD_REQUEST', `state unavailable: ${(failed as PromiseRejectedResult).reason.message}`, request.id);
      return;
    }
    for (const pattern of added) this.index.add(client, pattern);
    for (const pattern of request.patterns) client.patterns.set(pattern, request.conflate);
    client.session.conflate = [...client.patterns.values()].every(Boolean);
    this.control(client, { type: 'subscribed', id: request.id, topics: request.patterns });
    this.sendInitialState(client, request);
  }

  private sendInitialState(client: Client, request: Extract<ClientRequest, { op: 'subscribe' }>): void {
    const { session } = client;
    for (const pattern of request.patterns) {
      for (const topic of this.cache.topicsWithPrefix(upstreamPrefix(pattern))) {
        // A topic the client already follows (an earlier subscription, or an earlier pattern of
        // this one) goes on as it is: resuming or snapshotting it again would repeat seqs.
        if (!patternMatches(pattern, topic) || session.position(topic) !== undefined) continue;
        const since = request.since.get(topic);
        if (since !== undefined) {
          session.resumeFrom(topic, since.epoch, since.seq);
          const answer = this.cache.resume(topic, since.epoch, since.seq);
          const events = answer.kind === 'events' ? answer.events : answer.kind === 'snapshot' ? [answer.event] : [];
          for (const { epoch, seq, text } of events) session.offer(topic, epoch, seq, text);
        } else if (request.snapshot) {
          const snapshot = this.cache.snapshot(topic)!;
          session.offer(topic, snapshot.epoch, snapshot.seq, snapshot.text);
        }
      }
    }
    this.markDirty(client);
  }

  private unsubscribe(client: Client, id: RequestId | undefined, patterns: readonly string[]): void {
    const released: string[] = [];
    for (const pattern of patterns) {
      if (!client.patterns.delete(pattern)) continue;
      this.index.remove(client, pattern);
      released.push(upstreamPrefix(pattern));
    }
    client.session.conflate = [...client.patterns.values()].every(Boolean);
    // Topics no remaining pattern matches start afresh (with a snapshot) if subscribed again.
    // Taken from the session rather than the cache: releasing a prefix drops its topics from the cache.
    const remaining = [...client.patterns.keys()];
    for (const topic of [...client.session.topics()]) {
      if (!remaining.some((p) => patternMatches(p, topic))) client.session.forget(topic);
    }
    for (const prefix of released) this.unwant(prefix);
    this.control(client, { type: 'unsubscribed', id, topics: patterns });
  }

  private async list(client: Client, id: RequestId | undefined, prefix: string): Promise<void> {
    const held = this.upstream.readyPrefixes.some((p) => prefix.startsWith(p));
    try {
      const topics = held ? this.cache.topicsWithPrefix(prefix) : (await this.lister.snapshot(prefix)).map((m) => m.topic);
      const entitled = client.entitled;
      this.control(client, { type: 'topics', id, topics: entitled === undefined ? topics : topics.filter((topic) => entitles(entitled, topic)) });
    } catch (err) {
      const message = err instanceof SnapshotError && err.code === 'TOO_LARGE' ? 'too many topics: narrow the prefix' : `topics unavailable: ${(err as Error).message}`;
      this.refuse(client, new RequestError('BAD_REQUEST', message, id));
    }
  }

  private onUpdate(update: Update): void {
    const text = this.cache.apply(update);
    if (text === undefined) return;
    for (const client of this.index.matching(update.topic)) {
      if (client.session.offer(update.topic, update.epoch, update.seq, text)) this.markDirty(client);
    }
  }

  /** Releases one reference on an upstream prefix; when it was the last, drops the topics nothing holds any more. */
  private unwant(prefix: string): void {
    this.upstream.unwant(prefix);
  }

  /** Drops the cached topics no followed prefix covers any more: memory follows interest. */
  private forgetReleased(): void {
    const held = this.upstream.prefixes;
    this.cache.retain((topic) => held.some((p) => topic.startsWith(p)));
  }

  private refuse(client: Client, err: RequestError): void {
    this.counters.errorsByCode.set(err.code, (this.counters.errorsByCode.get(err.code) ?? 0) + 1);
    this.control(client, { type: 'error', id: err.id, code: err.code, message: err.message });
    if (withinWindow(client.errors) > ABUSE_ERRORS_PER_SECOND) {
      this.flush(client);
      client.socket.close(1008, 'too many bad requests');
    }
  }

  private control(client: Client, event: Record<string, unknown>): void {
    client.session.sendControl(JSON.stringify(event));
    this.markDirty(client);
  }

  private markDirty(client: Client): void {
    this.dirty.add(client);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flushDirty());
    }
  }

  private flushDirty(): void {
    this.flushScheduled = false;
    for (const client of this.dirty) this.flush(client);
    this.dirty.clear();
  }

  private flushAll(): void {
    for (const client of this.clients) if (client.session.pending > 0) this.flush(client);
  }

  private flush(client: Client): void {
    if (client.socket.readyState === client.socket.OPEN) client.session.flush();
  }

  private heartbeat(): void {
    const quietSince = Date.now() - this.options.heartbeatMs;
    for (const client of this.clients) {
      if (client.session.lastFrameAt <= quietSince && client.session.pending === 0) this.control(client, { type: 'heartbeat', ts: nowMicros() });
    }
  }

  /** WebSocket-level ping: a peer that did not answer the previous one is dead and terminated. */
  private pingClients(): void {
    for (const client of this.clients) {
      if (!client.alive) {
        client.socket.terminate();
        continue;
      }
      client.alive = false;
      client.socket.ping();
    }
  }

  private drop(client: Client, code: number): void {
    if (!this.clients.delete(client)) return;
    this.dirty.delete(client);
    clearTimeout(client.expiry);
    for (const pattern of client.patterns.keys()) {
      this.index.remove(client, pattern);
      this.unwant(upstreamPrefix(pattern));
    }
    this.counters.closedByCode.set(code, (this.counters.closedByCode.get(code) ?? 0) + 1);
    this.log.debug({ session: client.session.id, code }, 'client disconnected');
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
