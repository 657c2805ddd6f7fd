import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { Conditions } from '../../helpers/conditions.js';

/** One client connection as the mock exchange saw it. */
export interface MockConnection {
  readonly socket: WebSocket;
  /** Path and query of the upgrade request, e.g. /stream?streams=btcusdt@bookTicker. */
  readonly url: string;
  /** Text messages the client sent, parsed when they were JSON. */
  readonly received: unknown[];
  closed: boolean;
  pongs: number;
}

/**
 * A local WebSocket server standing in for an exchange: records what clients send, sends what
 * a test tells it to, and misbehaves on request (drops sockets, sends garbage, stalls by just
 * sending nothing). Exchange-specific mocks build on it.
 */
export class MockExchange {
  readonly connections: MockConnection[] = [];
  readonly conditions = new Conditions();
  private readonly server: WebSocketServer;
  readonly listening: Promise<void>;
  /** Called for each accepted connection, for mocks that act on their own schedule. */
  protected onConnection: (connection: MockConnection) => void = () => {};

  constructor(private readonly onMessage: (connection: MockConnection, message: unknown) => void = () => {}) {
    this.server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    this.listening = new Promise((resolve) => this.server.once('listening', resolve));
    this.server.on('connection', (socket, request: IncomingMessage) => this.accept(socket, request));
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The newest connection that is still open. */
  get current(): MockConnection | undefined {
    return this.connections.filter((c) => !c.closed).at(-1);
  }

  /** Sends to every open connection: an object as JSON, a string as it is (garbage included). */
  send(message: unknown): void {
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    for (const connection of this.connections) if (!connection.closed) connection.socket.send(text);
  }

  /** Drops every open connection without a closing handshake, as a network failure would. */
  drop(): void {
    for (const connection of this.connections) if (!connection.closed) connection.socket.terminate();
  }

  ping(): void {
    for (const connection of this.connections) if (!connection.closed) connection.socket.ping();
  }

  until(done: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return this.conditions.until(done, timeoutMs, () => what);
  }

  /** Resolves once `count` connections have been accepted in total. */
  connected(count: number): Promise<void> {
    return this.until(() => this.connections.length >= count, `${count} connections (have ${this.connections.length})`);
  }

  private closing: Promise<void> | undefined;

  /** Closes the server (idempotent); clients then find nothing listening. */
  close(): Promise<void> {
    for (const connection of this.connections) connection.socket.terminate();
    this.closing ??= new Promise<void>((resolve) => this.server.close(() => resolve()));
    return this.closing;
  }

  private accept(socket: WebSocket, request: IncomingMessage): void {
    const connection: MockConnection = { socket, url: request.url ?? '', received: [], closed: false, pongs: 0 };
    this.connections.push(connection);
    this.onConnection(connection);
    socket.on('message', (data) => {
      const text = data.toString();
      let message: unknown = text;
      try {
        message = JSON.parse(text);
      } catch {
        // Kept as the raw text.
      }
      connection.received.push(message);
      this.onMessage(connection, message);
      this.conditions.check();
    });
    socket.on('pong', () => {
      connection.pongs++;
      this.conditions.check();
    });
    socket.on('close', () => {
      connection.closed = true;
      this.conditions.check();
    });
    this.conditions.check();
  }
}
