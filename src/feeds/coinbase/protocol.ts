import type { AdapterMonitor, RecordSink } from '../adapter.js';
import type { TickRecord } from '../../wire/index.js';
import { parseDecimal, isoToMicros } from '../exchange/decimal.js';
import { ExchangeFeed, UpstreamReject, field, integer, messageObject, setDefined, text, type ExchangeOptions, type ExchangeProtocol } from '../exchange/feed.js';

interface ProductState {
  /** The product's newest upstream sequence seen; older messages are stale and dropped. */
  sequence: number;
  /** The newest trade id a ticker carried; undefined until the first ticker. */
  tradeId: number | undefined;
}

/**
 * Coinbase Exchange's public WebSocket feed, channels `ticker` and `heartbeat`.
 *
 * Upstream gaps: the ticker channel's `sequence` is the product's sequence over every order
 * book event, so it jumps between tickers by design and cannot show a loss by itself. It is
 * used to drop stale and duplicate messages (sequence not above the newest seen), and the
 * heartbeat's `last_trade_id`, ahead of the newest ticker's `trade_id`, shows a missed ticker.
 */
export class CoinbaseProtocol implements ExchangeProtocol {
  readonly url: string;
  readonly subscribeMessages: readonly string[];
  readonly plannedReconnectMs = 0;
  private readonly products = new Map<string, ProductState>();

  constructor(private readonly options: ExchangeOptions) {
    this.url = options.url;
    this.subscribeMessages = [JSON.stringify({ type: 'subscribe', product_ids: options.symbols, channels: ['ticker', 'heartbeat'] })];
  }

  reset(): void {
    this.products.clear();
    for (const product of this.options.symbols) this.products.set(product, { sequence: 0, tradeId: undefined });
  }

  handle(message: unknown, emit: RecordSink, monitor: AdapterMonitor): void {
    const object = messageObject(message);
    switch (object.type) {
      case 'ticker':
        return this.ticker(object, emit);
      case 'heartbeat':
        return this.heartbeat(object, monitor);
      case 'subscriptions':
        return;
      case 'error':
        throw new UpstreamReject('upstream_error', `exchange error: ${String(object.message)}${object.reason === undefined ? '' : `: ${String(object.reason)}`}`);
      default:
        throw new UpstreamReject('unknown_type', `unknown message type ${JSON.stringify(object.type) ?? 'missing'}`);
    }
  }

  private ticker(message: Record<string, unknown>, emit: RecordSink): void {
    const product = this.inSequence(message);
    const optional = (name: string): number | undefined => (message[name] === undefined ? undefined : field(message, name, parseDecimal));
    const record: TickRecord = { venue: this.options.venue, symbol: field(message, 'product_id', text) };
    setDefined(record, 'bid', optional('best_bid'));
    setDefined(record, 'bidSize', optional('best_bid_size'));
    setDefined(record, 'ask', optional('best_ask'));
    setDefined(record, 'askSize', optional('best_ask_size'));
    record.last = field(message, 'price', parseDecimal);
    setDefined(record, 'lastSize', optional('last_size'));
    setDefined(record, 'volume', optional('volume_24h'));
    record.exchTs = field(message, 'time', isoToMicros);
    setDefined(record, 'open', optional('open_24h'));
    setDefined(record, 'high', optional('high_24h'));
    setDefined(record, 'low', optional('low_24h'));
    if (message.trade_id !== undefined) product.tradeId = field(message, 'trade_id', integer);
    emit.tick(record);
  }

  private heartbeat(message: Record<string, unknown>, monitor: AdapterMonitor): void {
    const product = this.inSequence(message);
    const lastTradeId = field(message, 'last_trade_id', integer);
    if (product.tradeId !== undefined && lastTradeId > product.tradeId) {
      monitor.upstreamGap();
      product.tradeId = lastTradeId;
    }
  }

  /** The message's product state once its sequence is checked and recorded. */
  private inSequence(message: Record<string, unknown>): ProductState {
    const productId = field(message, 'product_id', text);
    const product = this.products.get(productId);
    if (!product) throw new UpstreamReject('unknown_symbol', `product ${productId} was not subscribed`);
    const sequence = field(message, 'sequence', integer);
    if (sequence <= product.sequence) {
      throw new UpstreamReject('out_of_order', `${productId} sequence ${sequence} is not after ${product.sequence}`);
    }
    product.sequence = sequence;
    return product;
  }
}

export function coinbaseFeed(options: ExchangeOptions): ExchangeFeed {
  return new ExchangeFeed('coinbase', options, new CoinbaseProtocol(options));
}
