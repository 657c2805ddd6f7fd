import { MockExchange, type MockConnection } from './mock-server.js';

/**
 * Coinbase Exchange's WebSocket feed as documented: a `subscribe` message gets a
 * `subscriptions` confirmation, or an `error` for an unknown product; then `ticker` and
 * `heartbeat` messages carry the product's `sequence`.
 */
export class MockCoinbase extends MockExchange {
  private sequence = 1000;

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

  /** Resolves once the newest connection has subscribed (and been confirmed). */
  subscribed(connections = 1): Promise<void> {
    return this.until(
      () => this.connections.length >= connections && this.connections[connections - 1]!.received.some((m) => (m as { type?: string }).type === 'subscribe'),
      `subscribe message on connection ${connections}`,
    );
  }

  private onClientMessage(connection: MockConnection, message: unknown): void {
    const request = message as { type?: string; product_ids?: string[]; channels?: string[] };
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
  }
}
