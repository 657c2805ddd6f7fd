import { MockExchange } from './mock-server.js';

/**
 * Binance's combined streams as documented: the streams are named in the URL
 * (/stream?streams=btcusdt@bookTicker/btcusdt@aggTrade), each message is
 * {"stream":..., "data":{...}}, the server pings, and a connection is cut at a fixed age.
 */
export class MockBinance extends MockExchange {
  private updateId = 400900217;

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

  aggTrade(symbol: string, aggId: number, price: string, quantity: string, tradeTimeMs = 1_764_070_000_123): void {
    this.send({
      stream: `${symbol.toLowerCase()}@aggTrade`,
      data: { e: 'aggTrade', E: tradeTimeMs + 1, s: symbol, a: aggId, p: price, q: quantity, f: aggId * 10, l: aggId * 10 + 1, T: tradeTimeMs, m: true, M: true },
    });
  }

  /** Repeats the current book update id, as the overlap of two connections would. */
  repeatedBookTicker(symbol: string): void {
    this.send({ stream: `${symbol.toLowerCase()}@bookTicker`, data: { u: this.updateId, s: symbol, b: '1', B: '1', a: '2', A: '1' } });
  }
}
