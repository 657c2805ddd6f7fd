import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockExchange } from './mock-server.js';
import { TrueBook } from './true-book.js';

/**
 * How the mock's REST depth endpoint answers a request: `now` the book as it is (the default once
 * the script is used up); `held` the book as it is when captureDepth() is called (a late snapshot);
 * `hang` never; or an HTTP status and body of its own (errors, garbage).
 */
export type DepthReply = 'now' | 'held' | 'hang' | { readonly status: number; readonly body: string };

/** One symbol's diff depth stream: its true book and the update id the book is at. */
interface DepthStream {
  readonly truth: TrueBook;
  updateId: number;
}

/**
 * Binance's combined streams as documented: the streams are named in the URL
 * (/stream?streams=btcusdt@bookTicker/btcusdt@trade/btcusdt@depth@100ms), each message is
 * {"stream":..., "data":{...}}, the server pings, and a connection is cut at a fixed age. Beside
 * it a loopback HTTP server answers GET /api/v3/depth from each symbol's true book, as scripted.
 */
export class MockBinance extends MockExchange {
  private updateId = 400900217;
  private readonly depth = new Map<string, DepthStream>();
  /** Replies to the next depth requests, in order. */
  readonly depthReplies: DepthReply[] = [];
  /** Every depth request, as its URL. */
  readonly depthRequests: URL[] = [];
  /** Held depth requests: each takes its book when called and returns what sends it. */
  private held: (() => () => void)[] = [];
  private readonly rest = createServer((request, response) => this.onDepthRequest(new URL(request.url ?? '/', 'http://mock'), response));
  readonly restListening = new Promise<void>((resolve) => this.rest.listen(0, '127.0.0.1', resolve));

  /** Cuts every connection `maxConnectionAgeMs` after it opened, as Binance does at 24 h. */
  constructor(maxConnectionAgeMs = 0) {
    super();
    if (maxConnectionAgeMs > 0) {
      this.onConnection = (connection) => {
        const timer = setTimeout(() => connection.socket.terminate(), maxConnectionAgeMs);
        connection.socket.on('close', () => clearTimeout(timer));
      };
    }
  }

  /** The stream names the newest connection asked for. */
  streams(index = this.connections.length - 1): string[] {
    const url = new URL(this.connections[index]!.url, 'ws://mock');
    return url.pathname === '/stream' ? (url.searchParams.get('streams') ?? '').split('/') : [];
  }

  bookTicker(symbol: string, fields: Record<string, unknown> = {}): void {
    this.send({
      stream: `${symbol.toLowerCase()}@bookTicker`,
      data: { u: ++this.updateId, s: symbol, b: '25.35190000', B: '31.21000000', a: '25.36520000', A: '40.66000000', ...fields },
    });
  }

  /** A trade; `buyerIsMaker` (Binance's `m`) true means the taker sold. */
  trade(symbol: string, tradeId: number, price: string, quantity: string, tradeTimeMs = 1_764_070_000_123, buyerIsMaker = true): void {
    this.send({
      stream: `${symbol.toLowerCase()}@trade`,
      data: { e: 'trade', E: tradeTimeMs + 1, s: symbol, t: tradeId, p: price, q: quantity, T: tradeTimeMs, m: buyerIsMaker, M: true },
    });
  }

  get restUrl(): string {
    return `http://127.0.0.1:${(this.rest.address() as AddressInfo).port}`;
  }

  /** The true book of `symbol` (upper case), made on first use from a seed of the symbol. */
  truth(symbol: string): TrueBook {
    return this.stream(symbol).truth;
  }

  /**
   * Changes the true book of `symbol` and sends the change as one diff event (update ids U..u, one
   * per changed level); `send` false skips it: the stream's next event then does not follow on.
   */
  depthUpdate(symbol: string, { send = true, eventTimeMs = 1_764_070_000_500 } = {}): void {
    const stream = this.stream(symbol);
    const changes = stream.truth.change();
    const firstId = stream.updateId + 1;
    stream.updateId += changes.length;
    if (!send) return;
    const side = (name: 'bids' | 'asks') => changes.filter((c) => c.side === name).map((c) => c.level);
    this.send({
      stream: `${symbol.toLowerCase()}@depth@100ms`,
      data: { e: 'depthUpdate', E: eventTimeMs, s: symbol, U: firstId, u: stream.updateId, b: side('bids'), a: side('asks') },
    });
  }

  /**
   * Takes the books as they are now for the held depth requests, and returns what answers them
   * with it: a snapshot that is old by the time it arrives.
   */
  captureDepth(): () => void {
    const replies = this.held.map((reply) => reply());
    this.held = [];
    return () => {
      for (const send of replies) send();
    };
  }

  override async close(): Promise<void> {
    this.rest.closeAllConnections();
    await Promise.all([super.close(), new Promise((resolve) => this.rest.close(resolve))]);
  }

  private stream(symbol: string): DepthStream {
    let stream = this.depth.get(symbol);
    if (!stream) {
      stream = { truth: new TrueBook([...symbol].reduce((seed, c) => seed * 31 + c.charCodeAt(0), 7)), updateId: 1_000_000 };
      this.depth.set(symbol, stream);
    }
    return stream;
  }

  private onDepthRequest(url: URL, response: ServerResponse): void {
    this.depthRequests.push(url);
    this.conditions.check();
    const symbol = url.searchParams.get('symbol') ?? '';
    const limit = Number(url.searchParams.get('limit'));
    const answer = () => {
      const { truth, updateId } = this.stream(symbol);
      const body = JSON.stringify({ lastUpdateId: updateId, ...truth.levels(limit) });
      return () => response.writeHead(200, { 'content-type': 'application/json' }).end(body);
    };
    const reply = this.depthReplies.shift() ?? 'now';
    if (reply === 'now') answer()();
    else if (reply === 'held') this.held.push(answer);
    else if (reply !== 'hang') response.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.body);
  }

  /** Repeats the current book update id, as the overlap of two connections would. */
  repeatedBookTicker(symbol: string): void {
    this.send({ stream: `${symbol.toLowerCase()}@bookTicker`, data: { u: this.updateId, s: symbol, b: '1', B: '1', a: '2', A: '1' } });
  }
}
