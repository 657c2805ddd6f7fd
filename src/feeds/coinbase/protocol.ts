import type { AdapterMonitor, RecordSink } from '../adapter.js';
import type { BookLevel, TickRecord } from '../../wire/index.js';
import { parseDecimal, isoToMicros } from '../exchange/decimal.js';
import { ExchangeFeed, UpstreamReject, field, integer, messageObject, setDefined, text, type ExchangeOptions, type ExchangeProtocol } from '../exchange/feed.js';
import { level, levels } from '../exchange/levels.js';
import { SnapshotSchedule } from '../snapshot-schedule.js';
import { SourceBook } from '../source-book.js';

export interface CoinbaseOptions extends ExchangeOptions {
  /** Levels per side published of each product's book (level2_batch holds the whole book; its best levels go out). */
  readonly bookDepth: number;
}

interface ProductState {
  /** The product's newest upstream sequence of ticker and heartbeat; older messages are stale and dropped. */
  sequence: number;
  /** The newest trade id a ticker carried; undefined until the first ticker. */
  tradeId: number | undefined;
  /** The newest match's trade id and sequence (matches share the product sequence with tickers: kept apart). */
  match: { tradeId: number; sequence: number } | undefined;
  readonly book: SourceBook;
}

/**
 * Coinbase Exchange's public WebSocket feed, channels `ticker`, `heartbeat`, `level2_batch`
 * (the product's book: a `snapshot`, then `l2update`s of changed levels) and `matches` (trades).
 *
 * Upstream gaps: the product's `sequence` counts every order book event, so it jumps between
 * tickers, and between matches, by design and cannot show a loss by itself. It is used to drop
 * stale and duplicate messages (sequence not above the newest seen). Losses show in trade ids,
 * which count the product's trades one by one: a match's `trade_id` beyond the previous one + 1,
 * and the heartbeat's `last_trade_id` ahead of the newest ticker's `trade_id`. level2_batch
 * carries no sequence at all: its book is continuous while the connection is, and a new
 * connection starts it with a fresh snapshot.
 */
export class CoinbaseProtocol implements ExchangeProtocol {
  readonly url: string;
  readonly subscribeMessages: readonly string[];
  readonly plannedReconnectMs = 0;
  private readonly products = new Map<string, ProductState>();
  private emit: RecordSink | undefined;
  private monitor: AdapterMonitor | undefined;
  private send: ((message: string) => void) | undefined;
  private snapshots: SnapshotSchedule<SourceBook> | undefined;

  constructor(private readonly options: CoinbaseOptions) {
    this.url = options.url;
    this.subscribeMessages = [JSON.stringify({ type: 'subscribe', product_ids: options.symbols, channels: ['ticker', 'heartbeat', 'level2_batch', 'matches'] })];
  }

  start(emit: RecordSink, monitor: AdapterMonitor, send: (message: string) => void): void {
    this.emit = emit;
    this.monitor = monitor;
    this.send = send;
    this.products.clear();
    for (const product of this.options.symbols) {
      const book = new SourceBook(this.options.venue, product, this.options.bookDepth);
      this.products.set(product, { sequence: 0, tradeId: undefined, match: undefined, book });
    }
    const books = [...this.products.values()].map((product) => product.book);
    this.snapshots = new SnapshotSchedule(this.options.bookSnapshotIntervalMs ?? 0, books, (book) => monitor.guard(() => book.republish(emit)));
    this.snapshots.start();
  }

  stop(): void {
    this.snapshots?.stop();
  }

  /** Book changes were missed: each book waits for the snapshot the next connection's subscription brings. */
  connectionLost(): void {
    for (const product of this.products.values()) product.book.desync();
  }

  handle(message: unknown): void {
    const object = messageObject(message);
    switch (object.type) {
      case 'ticker':
        return this.ticker(object);
      case 'heartbeat':
        return this.heartbeat(object);
      case 'snapshot':
        return this.snapshot(object);
      case 'l2update':
        return this.l2update(object);
      case 'match':
      case 'last_match':
        return this.match(object);
      case 'subscriptions':
        return;
      case 'error':
        throw new UpstreamReject('upstream_error', `exchange error: ${String(object.message)}${object.reason === undefined ? '' : `: ${String(object.reason)}`}`);
      default:
        throw new UpstreamReject('unknown_type', `unknown message type ${JSON.stringify(object.type) ?? 'missing'}`);
    }
  }

  private ticker(message: Record<string, unknown>): void {
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
    this.emit?.tick(record);
  }

  private heartbeat(message: Record<string, unknown>): void {
    const product = this.inSequence(message);
    const lastTradeId = field(message, 'last_trade_id', integer);
    if (product.tradeId !== undefined && lastTradeId > product.tradeId) {
      this.monitor?.upstreamGap();
      product.tradeId = lastTradeId;
    }
  }

  /** The whole book, sent on subscribing: replaces the book (also after a reconnect) and goes out as a snapshot. */
  private snapshot(message: Record<string, unknown>): void {
    const { book } = this.product(message);
    try {
      book.replace(levels(message, 'bids'), levels(message, 'asks'), message.time === undefined ? undefined : field(message, 'time', isoToMicros));
    } catch (err) {
      this.resubscribeBook(book);
      throw err;
    }
    if (this.emit) book.publish(this.emit);
  }

  /**
   * {changes: [[side, price, size], ...], time}: side "buy" is a bid level, "sell" an ask level; size
   * 0 removes it. Before the book's snapshot (the tail of a subscription given up) it is dropped.
   */
  private l2update(message: Record<string, unknown>): void {
    const { book } = this.product(message);
    if (!book.synced) return;
    try {
      book.change(...l2Changes(message), field(message, 'time', isoToMicros));
    } catch (err) {
      this.resubscribeBook(book);
      throw err;
    }
    if (this.emit) book.publish(this.emit);
  }

  /**
   * A snapshot or change that could not be read leaves the book unknown: nothing more of it goes
   * out until the fresh snapshot a new level2_batch subscription of the product starts with.
   */
  private resubscribeBook(book: SourceBook): void {
    book.desync();
    const subscription = { product_ids: [book.symbol], channels: ['level2_batch'] };
    this.send?.(JSON.stringify({ type: 'unsubscribe', ...subscription }));
    this.send?.(JSON.stringify({ type: 'subscribe', ...subscription }));
  }

  /**
   * A trade (`match`; `last_match` is the newest trade, sent on subscribing). `side` is the maker's
   * order side, so the taker, whose side a trade record gives, is on the other.
   */
  private match(message: Record<string, unknown>): void {
    const product = this.product(message);
    const symbol = field(message, 'product_id', text);
    const tradeId = field(message, 'trade_id', integer);
    const sequence = field(message, 'sequence', integer);
    const previous = product.match;
    if (previous !== undefined && (tradeId <= previous.tradeId || sequence <= previous.sequence)) {
      // The last_match of a new connection repeats the newest trade when none happened meanwhile.
      if (message.type === 'last_match') return;
      throw new UpstreamReject('out_of_order', `${symbol} trade ${tradeId} (sequence ${sequence}) is not after ${previous.tradeId} (${previous.sequence})`);
    }
    const makerSide = message.side;
    if (makerSide !== 'buy' && makerSide !== 'sell') throw new UpstreamReject('field', `field side: ${JSON.stringify(makerSide) ?? 'missing'} is not "buy" or "sell"`);
    const price = field(message, 'price', parseDecimal);
    const size = field(message, 'size', parseDecimal);
    const exchTs = field(message, 'time', isoToMicros);
    if (previous !== undefined && tradeId > previous.tradeId + 1) this.monitor?.upstreamGap();
    product.match = { tradeId, sequence };
    this.emit?.trade({ venue: this.options.venue, symbol, price, size, side: makerSide === 'buy' ? 'sell' : 'buy', tradeId: String(tradeId), exchTs });
  }

  private product(message: Record<string, unknown>): ProductState {
    const productId = field(message, 'product_id', text);
    const product = this.products.get(productId);
    if (!product) throw new UpstreamReject('unknown_symbol', `product ${productId} was not subscribed`);
    return product;
  }

  /** The message's product state once its sequence is checked and recorded. */
  private inSequence(message: Record<string, unknown>): ProductState {
    const product = this.product(message);
    const productId = String(message.product_id);
    const sequence = field(message, 'sequence', integer);
    if (sequence <= product.sequence) {
      throw new UpstreamReject('out_of_order', `${productId} sequence ${sequence} is not after ${product.sequence}`);
    }
    product.sequence = sequence;
    return product;
  }
}

/** An l2update's changes as bid and ask levels; a malformed one throws an UpstreamReject. */
function l2Changes(message: Record<string, unknown>): [bids: BookLevel[], asks: BookLevel[]] {
  const changes = message.changes;
  if (!Array.isArray(changes)) throw new UpstreamReject('field', `field changes: ${JSON.stringify(changes) ?? 'missing'} is not a list of [side, price, size]`);
  const bids: BookLevel[] = [];
  const asks: BookLevel[] = [];
  changes.forEach((change: unknown, i) => {
    const side = Array.isArray(change) ? change[0] : undefined;
    if (!Array.isArray(change) || change.length < 3 || (side !== 'buy' && side !== 'sell')) {
      throw new UpstreamReject('field', `field changes[${i}]: ${JSON.stringify(change)} is not ["buy" or "sell", price, size]`);
    }
    (side === 'buy' ? bids : asks).push(level(change[1], change[2], `changes[${i}]`));
  });
  return [bids, asks];
}

export function coinbaseFeed(options: CoinbaseOptions): ExchangeFeed {
  return new ExchangeFeed('coinbase', options, new CoinbaseProtocol(options));
}
