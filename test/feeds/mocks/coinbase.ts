import { MockExchange, type MockConnection } from './mock-server.js';
import { TrueBook } from './true-book.js';

const TIME = '2026-11-25T17:03:38.061769Z';

/**
 * Coinbase Exchange's WebSocket feed as documented: a `subscribe` message gets a
 * `subscriptions` confirmation, or an `error` for an unknown product; then `ticker` and
 * `heartbeat` messages carry the product's `sequence`. Subscribed to `level2_batch`, each
 * connection gets a `snapshot` of each product's true book, then `l2update`s of its changes;
 * subscribed to `matches`, a `last_match`, then `match`es.
 */
export class MockCoinbase extends MockExchange {
  private sequence = 1000;
  private readonly books = new Map<string, TrueBook>();

  constructor(private readonly products: readonly string[] = ['BTC-USD', 'ETH-USD']) {
    super((connection, message) => this.onClientMessage(connection, message));
  }

  ticker(productId: string, fields: Record<string, unknown>): Record<string, unknown> {
    const message = {
      type: 'ticker', sequence: ++this.sequence, product_id: productId,
      price: '64000.50', open_24h: '63000', volume_24h: '1532.4', low_24h: '62000.1', high_24h: '65000',
      volume_30d: '40000', best_bid: '64000.25', best_bid_size: '1.25', best_ask: '64001.00', best_ask_size: '0.5',
      side: 'buy', time: '2026-11-25T17:03:38.061769Z', trade_id: 1, last_size: '0.01',
      ...fields,
    };
    this.send(message);
    return message;
  }

  heartbeat(productId: string, lastTradeId: number): void {
    this.send({ type: 'heartbeat', sequence: ++this.sequence, last_trade_id: lastTradeId, product_id: productId, time: '2026-11-25T17:03:39.000000Z' });
  }

  /** Reuses an already sent sequence number, as a replayed or reordered message would. */
  stale(productId: string): void {
    this.send({ type: 'heartbeat', sequence: this.sequence - 1, last_trade_id: 0, product_id: productId, time: '2026-11-25T17:03:39.000000Z' });
  }

  /** The true book of `productId`, made on first use. */
  truth(productId: string): TrueBook {
    let book = this.books.get(productId);
    if (!book) {
      book = new TrueBook([...productId].reduce((seed, c) => seed * 31 + c.charCodeAt(0), 11));
      this.books.set(productId, book);
    }
    return book;
  }

  /** Changes the true book and sends the change as an l2update; `send` false changes it unseen (while no one is connected). */
  l2update(productId: string, { send = true } = {}): void {
    const changes = this.truth(productId).change();
    if (!send) return;
    this.send({ type: 'l2update', product_id: productId, changes: changes.map(({ side, level }) => [side === 'bids' ? 'buy' : 'sell', ...level]), time: TIME });
  }

  /** A trade; `side` is the maker order's side, as Coinbase sends it. */
  match(productId: string, tradeId: number, side: 'buy' | 'sell', fields: Record<string, unknown> = {}, type = 'match'): void {
    this.send({
      type, trade_id: tradeId, maker_order_id: 'ac928c66-ca53-498f-9c13-a110027a60e8', taker_order_id: '132fb6ae-456b-4654-b4e0-d681ac05cea1',
      side, size: '5.23512', price: '400.23', product_id: productId, sequence: ++this.sequence, time: TIME, ...fields,
    });
  }

  /** Resolves once the newest connection has subscribed (and been confirmed). */
  subscribed(connections = 1): Promise<void> {
    return this.until(
      () => this.connections.length >= connections && this.connections[connections - 1]!.received.some((m) => (m as { type?: string }).type === 'subscribe'),
      `subscribe message on connection ${connections}`,
    );
  }

  private onClientMessage(connection: MockConnection, message: unknown): void {
    const request = message as { type?: string; product_ids?: string[]; channels?: string[] };
    if (request.type === 'unsubscribe') return;
    if (request.type !== 'subscribe') {
      connection.socket.send(JSON.stringify({ type: 'error', message: 'Failed to subscribe', reason: `unknown message type ${String(request.type)}` }));
      return;
    }
    const unknown = (request.product_ids ?? []).find((p) => !this.products.includes(p));
    if (unknown !== undefined) {
      connection.socket.send(JSON.stringify({ type: 'error', message: 'Failed to subscribe', reason: `${unknown} is not a valid product` }));
      return;
    }
    connection.socket.send(JSON.stringify({
      type: 'subscriptions',
      channels: (request.channels ?? []).map((name) => ({ name, product_ids: request.product_ids })),
    }));
    if (request.channels?.includes('level2_batch')) {
      for (const productId of request.product_ids ?? []) {
        connection.socket.send(JSON.stringify({ type: 'snapshot', product_id: productId, ...this.truth(productId).levels(), time: TIME }));
      }
    }
  }
}
