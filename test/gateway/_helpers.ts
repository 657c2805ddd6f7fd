/**
 * Helpers of the gateway conformance tests (not a test file itself): an in-process fabric (proxy,
 * snapshot service and simulated feed started with startRoles on private ipc endpoints), real
 * gateways on free ports wired to it, controllable publishers, and a raw `ws` client that
 * checks every server frame against PROTOCOL.md section 5 and lets tests await events.
 */
import { PLAIN_ROLE_CONTEXT } from '../helpers/role-context.js';
import type { Socket } from 'node:net';
import type { TestFn } from 'ava';
import WebSocket from 'ws';
import { XPublisher } from 'zeromq';
import { SnapshotClient } from '../../src/client/zmq/index.js';
import { startRoles, stopRoles, type RunningRole } from '../../src/cli/roles.js';
import { VERSION } from '../../src/cli/version.js';
import { loadConfig, type TickfanConfig } from '../../src/cli/config.js';
import { TickPublisher } from '../../src/feeds/index.js';
import { startGatewayRole, type Gateway } from '../../src/gateway/index.js';
import { createLogger, type LogLevel } from '../../src/log/index.js';
import { encodeMessage, nowMicros } from '../../src/wire/index.js';
import { ipcDir, privateFabricEnv, withTimeout } from '../helpers/tickfan-process.js';
import { TEST_SOCKETS } from '../helpers/sockets.js';

/** GATEWAY_TEST_LOG=debug shows the roles' logs while debugging a test. */
export const log = createLogger((process.env.GATEWAY_TEST_LOG as LogLevel | undefined) ?? 'silent');

export { VERSION };

export interface ServerEvent {
  readonly type: string;
  readonly [field: string]: unknown;
}

export interface TickEvent extends ServerEvent {
  readonly type: 'tick' | 'snapshot';
  readonly topic: string;
  readonly epoch: number;
  readonly seq: number;
  readonly ts: number;
  readonly data: Record<string, unknown>;
}

export const isData = (e: ServerEvent): e is TickEvent => e.type === 'tick' || e.type === 'snapshot';

/** `venue` x `symbols` instruments as the JSON of TICKFAN_FEEDS_SIMULATED_INSTRUMENTS. */
export function instruments(list: Record<string, string[]>): string {
  return JSON.stringify(Object.entries(list).flatMap(([venue, symbols]) =>
    symbols.map((symbol, i) => ({ venue, symbol, tickSize: 0.01, startPrice: 100 + i, lotSize: 1 }))));
}

/** Resolves when `done()` holds, checked whenever `subscribe` calls back; rejects after timeoutMs naming `what()`. */
function until(done: () => boolean, subscribe: (check: () => void) => () => void, timeoutMs: number, what: () => string): Promise<void> {
  if (done()) return Promise.resolve();
  let unsubscribe = (): void => {};
  return withTimeout(new Promise<void>((resolve) => {
    unsubscribe = subscribe(() => {
      if (done()) resolve();
    });
  }), timeoutMs, what()).finally(() => unsubscribe());
}

/**
 * A raw WebSocket client of the gateway. Every frame is checked to be a non-empty JSON array of
 * event objects with a string `type` (anything else is kept in `badFrames`); events are kept in
 * arrival order with their arrival time.
 */
export class WsClient {
  readonly events: ServerEvent[] = [];
  readonly arrivals: number[] = [];
  readonly badFrames: string[] = [];
  frames = 0;
  readonly closed: Promise<{ code: number; reason: string }>;
  closeCode: number | undefined;
  private readonly listeners = new Set<() => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => this.onFrame(isBinary ? undefined : (data as Buffer).toString('utf8')));
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => {
      this.closeCode = code;
      resolve({ code, reason: reason.toString() });
      this.notify();
    }));
    ws.on('error', () => {});
  }

  static async connect(url: string, timeoutMs = 5000): Promise<WsClient> {
    const ws = new WebSocket(url);
    const client = new WsClient(ws);
    await withTimeout(new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    }), timeoutMs, `connecting to ${url}`);
    return client;
  }

  send(request: object | string): void {
    this.ws.send(typeof request === 'string' ? request : JSON.stringify(request));
  }

  /** Sends a request and resolves with the event answering it (same id, one of the answer types). */
  async request(request: Record<string, unknown>, timeoutMs = 10_000): Promise<ServerEvent> {
    const from = this.events.length;
    this.send(request);
    return (await this.waitFor((e) => ANSWERS.has(e.type) && e.id === request.id, { from, timeoutMs, what: `the answer to ${JSON.stringify(request).slice(0, 200)}` })).event;
  }

  /** The first event at or after `from` that matches, once it has arrived, with its index. */
  async waitFor(match: (e: ServerEvent, index: number) => boolean, options: { from?: number; timeoutMs?: number; what?: string } = {}): Promise<{ event: ServerEvent; index: number }> {
    let scanned = options.from ?? 0;
    let found = -1;
    const done = (): boolean => {
      for (; scanned < this.events.length; scanned++) {
        if (match(this.events[scanned]!, scanned)) {
          found = scanned;
          return true;
        }
      }
      return false;
    };
    await until(done, (check) => this.listen(check), options.timeoutMs ?? 10_000, () => `${options.what ?? 'an event'} (closed: ${this.closeCode}, ${this.events.length} events, last: ${JSON.stringify(this.events.slice(-3)).slice(0, 600)})`);
    return { event: this.events[found]!, index: found };
  }

  /** Resolves once `done()` holds, re-checked on every frame and on close. */
  until(done: () => boolean, timeoutMs = 10_000, what = () => 'a condition'): Promise<void> {
    return until(done, (check) => this.listen(check), timeoutMs, what);
  }

  /** Data (snapshot/tick) events from index `from` on. */
  data(from = 0): TickEvent[] {
    return this.events.slice(from).filter(isData);
  }

  /** Stops reading: the socket's receive buffer fills and TCP pushes back on the gateway. */
  pause(): void {
    (this.ws as unknown as { _socket: Socket })._socket.pause();
  }

  resume(): void {
    (this.ws as unknown as { _socket: Socket })._socket.resume();
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.resume();
    this.ws.close();
    await withTimeout(this.closed, 5000, 'the client to close').catch(() => this.ws.terminate());
  }

  private listen(check: () => void): () => void {
    this.listeners.add(check);
    return () => this.listeners.delete(check);
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private onFrame(text: string | undefined): void {
    this.frames++;
    let value: unknown;
    try {
      value = text === undefined ? undefined : JSON.parse(text);
    } catch {
      value = undefined;
    }
    const ok = Array.isArray(value) && value.length > 0
      && value.every((e) => typeof e === 'object' && e !== null && !Array.isArray(e) && typeof (e as ServerEvent).type === 'string');
    if (!ok) {
      this.badFrames.push(text === undefined ? '<binary frame>' : text.slice(0, 300));
      return;
    }
    const now = performance.now();
    for (const event of value as ServerEvent[]) {
      this.events.push(event);
      this.arrivals.push(now);
    }
    this.notify();
  }
}

const ANSWERS = new Set(['subscribed', 'unsubscribed', 'topics', 'pong', 'refreshed', 'error']);

/** The HTTP status with which the gateway refuses a WebSocket upgrade (or rejects when it accepts). */
export function refusedUpgrade(url: string): Promise<number> {
  return withTimeout(new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('unexpected-response', (req, res) => {
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    ws.once('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.once('error', reject);
  }), 5000, `the upgrade to ${url} to be refused`);
}

export interface GatewayHandle {
  readonly gateway: Gateway;
  readonly url: string;
  connect(): Promise<WsClient>;
  /** Connects and reads the welcome event. */
  join(): Promise<WsClient>;
}

export interface StatusPublisher {
  readonly epoch: number;
  readonly topic: string;
  /** Sends the venue's status record (or `payload` as it is); resolves with its seq. */
  publish(state: string, payload?: unknown): Promise<number>;
}

export interface RecordPublisher {
  readonly epoch: number;
  readonly topic: string;
  /** Sends `record` as the topic's next message; resolves with its seq. */
  publish(record: unknown): Promise<number>;
}

/** A snapshot service's view of a topic: epoch and seq, or undefined. */
export type Position = { epoch: number; seq: number } | undefined;

/**
 * Proxy, snapshot service and simulated feed in this process on ipc endpoints of a private
 * directory; gateways (TICKFAN_GATEWAY_PORT=0) and publishers are added per test.
 */
export class Fabric {
  readonly env: Record<string, string>;
  readonly config: TickfanConfig;
  private readonly dir = ipcDir();
  private roles: RunningRole[] = [];
  private readonly gateways: Gateway[] = [];
  private readonly publishers: TickPublisher[] = [];
  private readonly statusSockets: XPublisher[] = [];
  private readonly clients = new Set<WsClient>();
  private readonly snapshots: SnapshotClient;

  private constructor(env: Record<string, string>) {
    this.env = {
      TICKFAN_LOG_LEVEL: 'silent',
      TICKFAN_ZMQ_LINGER_MS: '0',
      ...privateFabricEnv(this.dir),
      // Release upstream prefixes at once, so tests can watch interest follow clients.
      TICKFAN_GATEWAY_UPSTREAM_LINGER_MS: '0',
      ...env,
    };
    this.config = loadConfig({ env: this.env });
    this.snapshots = new SnapshotClient({ endpoints: this.config.connect.snapshot, timeoutMs: 2000 });
  }

  /** Starts proxy, snapshot service and (with TICKFAN_FEEDS_SIMULATED_* in env) the simulated feed. */
  static async start(env: Record<string, string>, roles: ('proxy' | 'snapshot' | 'feed')[] = ['proxy', 'snapshot', 'feed']): Promise<Fabric> {
    const fabric = new Fabric(env);
    fabric.roles = await startRoles(fabric.config, roles, log);
    return fabric;
  }

  /**
   * A fabric with a small simulated feed of three instruments (SIM BTC-USD and ETH-USD,
   * SIMEQ AAPL) at `rate`, once the snapshot service holds each of them.
   */
  static async startSmall(rate: number, seed: number): Promise<Fabric> {
    const fabric = await Fabric.start({
      TICKFAN_FEEDS_SIMULATED_INSTRUMENTS: instruments({ SIM: ['BTC-USD', 'ETH-USD'], SIMEQ: ['AAPL'] }),
      TICKFAN_FEEDS_SIMULATED_RATE: String(rate),
      TICKFAN_FEEDS_SIMULATED_SEED: String(seed),
    });
    for (const topic of ['tick.SIM.BTC-USD', 'tick.SIM.ETH-USD', 'tick.SIMEQ.AAPL']) {
      while ((await fabric.position(topic)) === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return fabric;
  }

  /** A gateway role as configured by the fabric's environment plus `env`, listening on a free port. */
  async gateway(env: Record<string, string> = {}): Promise<GatewayHandle> {
    const { gateway } = await startGatewayRole(loadConfig({ env: { ...this.env, ...env } }), log, PLAIN_ROLE_CONTEXT);
    this.gateways.push(gateway);
    const url = `ws://127.0.0.1:${gateway.port}/v1/ws`;
    const connect = async (): Promise<WsClient> => {
      const client = await WsClient.connect(url);
      this.clients.add(client);
      return client;
    };
    const join = async (): Promise<WsClient> => {
      const client = await connect();
      await client.waitFor((e) => e.type === 'welcome', { what: 'welcome' });
      return client;
    };
    return { gateway, url, connect, join };
  }

  /** A gateway whose joined clients go into the test's context, for checkEveryFrame. */
  async gatewayFor(t: { context: { clients: WsClient[] } }, env: Record<string, string> = {}): Promise<GatewayHandle> {
    const handle = await this.gateway(env);
    const join = async (): Promise<WsClient> => {
      const client = await handle.join();
      t.context.clients.push(client);
      return client;
    };
    return { ...handle, join };
  }

  /** A publisher on the proxy frontend, owning the topics it publishes (its own epoch). */
  async publisher(): Promise<TickPublisher> {
    const publisher = new TickPublisher(
      { endpoints: this.config.connect.frontend, sendHwm: 100_000, queueLimit: 100_000, socket: TEST_SOCKETS, subscriberWaitMs: 5000 },
      log,
    );
    this.publishers.push(publisher);
    await publisher.connect();
    return publisher;
  }

  /**
   * A source of `status.<venue>` messages on the proxy frontend (its own epoch), as a feed
   * publishes them; `payload` overrides the record to send malformed ones.
   */
  async statusPublisher(venue: string): Promise<StatusPublisher> {
    const source = await this.recordPublisher(`status.${venue}`);
    return {
      epoch: source.epoch,
      topic: source.topic,
      publish: (state: string, payload?: unknown) => source.publish(payload ?? { venue, state, reason: `test says ${state}` }),
    };
  }

  /** The owning source of one topic on the proxy frontend (its own epoch), publishing whatever record it is given as JSON. */
  async recordPublisher(topic: string): Promise<RecordPublisher> {
    const socket = new XPublisher({ linger: 0 });
    this.statusSockets.push(socket);
    socket.connect(this.config.connect.frontend[0]!);
    // The snapshot service's subscription arriving through the proxy: from now on nothing sent is lost.
    await withTimeout(socket.receive(), 5000, `a subscription to reach the publisher of ${topic}`);
    const epoch = 1 + Math.floor(Math.random() * 0xffff_fffe);
    let seq = 0;
    return {
      epoch,
      topic,
      async publish(record: unknown): Promise<number> {
        await socket.send([...encodeMessage(topic, { flags: 0, epoch, seq: ++seq, ts: nowMicros() }, Buffer.from(JSON.stringify(record)))]);
        return seq;
      },
    };
  }

  /** Where the snapshot service holds `topic`. */
  async position(topic: string): Promise<Position> {
    const message = (await this.snapshots.snapshot(topic)).find((m) => m.topic === topic);
    return message && { epoch: message.header.epoch, seq: message.header.seq };
  }

  /** Resolves once the snapshot service holds `topic` at `seq` (so a late joiner sees it). */
  async settled(topic: string, epoch: number, seq: number, timeoutMs = 5000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const at = await this.position(topic);
      if (at?.epoch === epoch && at.seq >= seq) return;
      if (performance.now() > deadline) throw new Error(`the snapshot service holds ${topic} at ${JSON.stringify(at)}, not ${epoch}:${seq}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.clients].map((client) => client.close()));
    await Promise.all(this.gateways.map((gateway) => gateway.close()));
    await Promise.all(this.publishers.map((publisher) => publisher.close()));
    for (const socket of this.statusSockets) socket.close();
    this.snapshots.close();
    await stopRoles(this.roles);
    this.dir.cleanup();
  }
}

/** Publishes one tick of `tick.<venue>.<symbol>` whose bid encodes its seq-to-be (n), and returns it. */
export function publish(publisher: TickPublisher, venue: string, symbol: string, n: number): number {
  if (!publisher.publish({ venue, symbol, bid: n, ask: n + 1, last: n + 0.5, exchTs: Date.now() * 1000 })) throw new Error(`${venue}.${symbol} #${n} was not published`);
  return n;
}

/** Per topic, the seqs of data events in arrival order. */
export function seqsByTopic(events: readonly TickEvent[]): Map<string, number[]> {
  const map = new Map<string, number[]>();
  for (const e of events) {
    const seqs = map.get(e.topic) ?? [];
    seqs.push(e.seq);
    map.set(e.topic, seqs);
  }
  return map;
}

/** Resolves after `ms` (only to prove that something does not happen). */
export function quietFor(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Gives every test of the file a list of its raw clients and checks, after each test, that
 * every frame they received was a non-empty JSON array of events (PROTOCOL.md section 5).
 */
export function checkEveryFrame(test: TestFn<{ clients: WsClient[] }>): void {
  test.beforeEach((t) => {
    t.context.clients = [];
  });
  test.afterEach((t) => {
    for (const client of t.context.clients) t.deepEqual(client.badFrames, [], 'every server frame is a JSON array of events');
  });
}
