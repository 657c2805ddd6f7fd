import { WebSocketServer, type WebSocket } from 'ws';
import { connect, type TickfanClient } from '../../src/client/ws/index.js';

/**
 * A scripted stand-in for the gateway, speaking PROTOCOL.md section 5 as the test dictates:
 * it welcomes each connection, records every request (and its raw text), and sends whatever
 * events the test passes, so the client's rules can be checked on exact sequences.
 */
export class FakeGateway {
  readonly connections: FakeConnection[] = [];
  private readonly waiters: (() => void)[] = [];

  private constructor(
    private readonly server: WebSocketServer,
    private readonly heartbeatMs: number,
    private readonly welcome: boolean,
    private readonly dropAfterWelcome: boolean,
  ) {
    server.on('connection', (socket) => {
      const conn = new FakeConnection(socket);
      this.connections.push(conn);
      if (this.welcome) conn.send({ type: 'welcome', session: `s${this.connections.length}`, server: 'fake/0', heartbeatMs: this.heartbeatMs });
      if (this.dropAfterWelcome) socket.close(1011, 'dropped');
      for (const waiter of this.waiters.splice(0)) waiter();
    });
  }

  /** welcome: false never welcomes; dropAfterWelcome closes each connection right after its welcome. */
  static async start(options: { port?: number; heartbeatMs?: number; welcome?: boolean; dropAfterWelcome?: boolean } = {}): Promise<FakeGateway> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: options.port ?? 0, path: '/v1/ws' });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    return new FakeGateway(server, options.heartbeatMs ?? 5000, options.welcome ?? true, options.dropAfterWelcome ?? false);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as { port: number }).port}/v1/ws`;
  }

  /** The `index`-th connection (0 = the first), once it has come. */
  connection(index: number, timeoutMs = 5000): Promise<FakeConnection> {
    const existing = this.connections[index];
    if (existing) return Promise.resolve(existing);
    return withTimeout(new Promise((resolve) => {
      const check = () => {
        const conn = this.connections[index];
        if (conn) resolve(conn);
        else this.waiters.push(check);
      };
      this.waiters.push(check);
    }), timeoutMs, `connection #${index + 1}`);
  }

  async close(): Promise<void> {
    for (const conn of this.connections) conn.socket.terminate();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

export type Request = Record<string, unknown> & { op: string; id: number };

export class FakeConnection {
  readonly requests: Request[] = [];
  readonly raw: string[] = [];
  private taken = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const text = data.toString();
      this.raw.push(text);
      this.requests.push(JSON.parse(text) as Request);
      for (const waiter of this.waiters.splice(0)) waiter();
    });
  }

  /** Sends events as one array frame. */
  send(...events: unknown[]): void {
    this.socket.send(JSON.stringify(events));
  }

  /** The next request not yet taken, in arrival order. */
  async next(timeoutMs = 5000): Promise<Request> {
    const deadline = performance.now() + timeoutMs;
    while (this.requests.length <= this.taken) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out waiting for request #${this.taken + 1} (got ${JSON.stringify(this.requests)})`);
      await withTimeout(new Promise<void>((resolve) => this.waiters.push(resolve)), left, `request #${this.taken + 1}`).catch(() => {});
    }
    return this.requests[this.taken++]!;
  }

  /** Takes requests until one with `op` comes; the others are returned too, in order. */
  async nextOf(op: string, timeoutMs = 5000): Promise<{ request: Request; skipped: Request[] }> {
    const skipped: Request[] = [];
    for (;;) {
      const request = await this.next(timeoutMs);
      if (request.op === op) return { request, skipped };
      skipped.push(request);
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A record event of the fake: a full record for topic tick.V.S at (epoch, seq, ts). */
export function record(type: 'snapshot' | 'tick', topic: string, epoch: number, seq: number, ts = seq * 1000): Record<string, unknown> {
  const [, venue, ...symbol] = topic.split('.');
  return { type, topic, epoch, seq, ts, data: { venue, symbol: symbol.join('.'), last: seq, exchTs: ts } };
}

/** Reconnect delays short enough for tests. */
export const FAST = { minReconnectDelayMs: 10, maxReconnectDelayMs: 100 };

/** A FakeGateway closed with the test. */
export async function fake(t: { teardown(fn: () => unknown): void }, options: Parameters<typeof FakeGateway.start>[0] = {}): Promise<FakeGateway> {
  const server = await FakeGateway.start(options);
  t.teardown(() => server.close());
  return server;
}

/** A client of `server`, with short reconnect delays, closed with the test. */
export async function open(t: { teardown(fn: () => unknown): void }, server: FakeGateway, options: Parameters<typeof connect>[1] = {}): Promise<TickfanClient> {
  const client = await connect(server.url, { ...FAST, ...options });
  t.teardown(() => client.close());
  return client;
}

/** Answers the next subscribe of `conn` (returning it) with `subscribed` and the given events. */
export async function answerSubscribe(conn: FakeConnection, ...events: unknown[]): Promise<Request> {
  const { request } = await conn.nextOf('subscribe');
  conn.send({ type: 'subscribed', id: request.id, topics: request.topics }, ...events);
  return request;
}

/** A ping answered by the server after everything sent before: all of it has been processed when it resolves. */
export async function sync(client: TickfanClient, conn: FakeConnection): Promise<void> {
  const pinging = client.ping();
  const { request } = await conn.nextOf('ping');
  conn.send({ type: 'pong', id: request.id });
  await pinging;
}
