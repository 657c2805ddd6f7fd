import type { AdapterMonitor, RecordSink } from '../adapter.js';
import type { TickRecord } from '../../wire/index.js';
import { DecimalSum, parseDecimal } from '../exchange/decimal.js';
import { ExchangeFeed, UpstreamReject, field, integer, messageObject, setDefined, text, type ExchangeOptions, type ExchangeProtocol } from '../exchange/feed.js';
import { SnapshotSchedule } from '../snapshot-schedule.js';
import { DepthSync, type DepthOptions } from './depth.js';

export interface BinanceOptions extends ExchangeOptions, Omit<DepthOptions, 'venue' | 'backoff'> {
  /** Binance closes every connection after 24 h; the adapter replaces it this long after it opened. */
  readonly plannedReconnectMs: number;
}

/** One symbol's state: its L1 record merged from bookTicker (quotes) and trade (trades), and its order book. */
interface SymbolState extends Pick<TickRecord, 'bid' | 'bidSize' | 'ask' | 'askSize' | 'last' | 'lastSize' | 'exchTs'> {
  readonly symbol: string;
  /** Traded quantity since the adapter started, summed exactly. */
  readonly volume: DecimalSum;
  /** The newest order book update id (`u`); older bookTickers are stale and dropped. */
  updateId: number;
  /** The newest trade id (`t`); ids are consecutive, so a jump is a gap. */
  tradeId: number | undefined;
  readonly depth: DepthSync;
}

/**
 * Binance's combined streams `<symbol>@bookTicker`, `<symbol>@trade` and `<symbol>@depth@100ms`.
 * A bookTicker or a trade updates its symbol's L1 state and publishes the full tick (a trade also
 * goes out as a trade record, first); the diff depth stream keeps the symbol's order book
 * (DepthSync). During a planned reconnect both connections deliver for a moment; the ids drop
 * whatever arrives twice.
 */
export class BinanceProtocol implements ExchangeProtocol {
  readonly url: string;
  readonly subscribeMessages: readonly string[] = [];
  readonly plannedReconnectMs: number;
  /** By the upper-case symbol of the data (`s`). */
  private readonly symbols = new Map<string, SymbolState>();
  private emit: RecordSink | undefined;
  private monitor: AdapterMonitor | undefined;
  private snapshots: SnapshotSchedule<DepthSync> | undefined;

  constructor(private readonly options: BinanceOptions) {
    const streams = options.symbols.flatMap((symbol) => ['bookTicker', 'trade', 'depth@100ms'].map((stream) => `${symbol.toLowerCase()}@${stream}`));
    this.url = `${options.url.replace(/\/+$/, '')}/stream?streams=${streams.join('/')}`;
    this.plannedReconnectMs = options.plannedReconnectMs;
  }

  start(emit: RecordSink, monitor: AdapterMonitor): void {
    this.emit = emit;
    this.monitor = monitor;
    this.symbols.clear();
    for (const symbol of this.options.symbols) {
      const name = symbol.toUpperCase();
      const depth = new DepthSync(name, this.options, emit, monitor);
      this.symbols.set(name, { symbol: name, volume: new DecimalSum(), updateId: 0, tradeId: undefined, depth });
    }
    const books = [...this.symbols.values()].map((state) => state.depth);
    this.snapshots = new SnapshotSchedule(this.options.bookSnapshotIntervalMs ?? 0, books, (depth) => monitor.guard(() => depth.book.republish(emit)));
    this.snapshots.start();
  }

  stop(): void {
    this.snapshots?.stop();
    for (const state of this.symbols.values()) state.depth.stop();
  }

  /** Events were missed while disconnected: every book syncs afresh from the next connection's events. */
  connectionLost(): void {
    for (const state of this.symbols.values()) state.depth.startOver();
  }

  handle(message: unknown): void {
    const object = messageObject(message);
    if (object.error !== undefined || object.code !== undefined) {
      const error = messageObject(object.error ?? object);
      throw new UpstreamReject('upstream_error', `exchange error ${String(error.code)}: ${String(error.msg)}`);
    }
    const stream = field(object, 'stream', text);
    const data = messageObject(object.data);
    if (stream.endsWith('@bookTicker')) return this.bookTicker(data);
    if (stream.endsWith('@trade')) return this.trade(data);
    if (stream.endsWith('@depth@100ms')) return this.state(data).depth.onMessage(data);
    throw new UpstreamReject('unknown_type', `unknown stream ${JSON.stringify(stream)}`);
  }

  private bookTicker(data: Record<string, unknown>): void {
    const state = this.state(data);
    const updateId = field(data, 'u', integer);
    if (updateId <= state.updateId) throw new UpstreamReject('out_of_order', `${state.symbol} book update ${updateId} is not after ${state.updateId}`);
    const bid = field(data, 'b', parseDecimal);
    const bidSize = field(data, 'B', parseDecimal);
    const ask = field(data, 'a', parseDecimal);
    const askSize = field(data, 'A', parseDecimal);
    state.updateId = updateId;
    Object.assign(state, { bid, bidSize, ask, askSize });
    if (data.T !== undefined) state.exchTs = field(data, 'T', integer) * 1000;
    this.emit?.tick(record(this.options.venue, state));
  }

  /** {e:'trade', s, t (trade id), p, q, T (trade time), m (the buyer is the maker, so the taker sold)}. */
  private trade(data: Record<string, unknown>): void {
    const state = this.state(data);
    const tradeId = field(data, 't', integer);
    if (state.tradeId !== undefined && tradeId <= state.tradeId) throw new UpstreamReject('out_of_order', `${state.symbol} trade ${tradeId} is not after ${state.tradeId}`);
    const price = field(data, 'p', parseDecimal);
    const quantity = field(data, 'q', text);
    const size = field(data, 'q', parseDecimal);
    const exchTs = field(data, 'T', integer) * 1000;
    if (typeof data.m !== 'boolean') throw new UpstreamReject('field', `field m: ${JSON.stringify(data.m) ?? 'missing'} is not a boolean`);
    if (state.tradeId !== undefined && tradeId > state.tradeId + 1) this.monitor?.upstreamGap();
    state.tradeId = tradeId;
    state.last = price;
    state.lastSize = size;
    state.volume.add(quantity);
    state.exchTs = exchTs;
    const venue = this.options.venue;
    this.emit?.trade({ venue, symbol: state.symbol, price, size, side: data.m ? 'sell' : 'buy', tradeId: String(tradeId), exchTs });
    this.emit?.tick(record(venue, state));
  }

  private state(data: Record<string, unknown>): SymbolState {
    const symbol = field(data, 's', text);
    const state = this.symbols.get(symbol);
    if (!state) throw new UpstreamReject('unknown_symbol', `symbol ${symbol} was not subscribed`);
    return state;
  }
}

function record(venue: string, state: SymbolState): TickRecord {
  const out: TickRecord = { venue, symbol: state.symbol };
  setDefined(out, 'bid', state.bid);
  setDefined(out, 'bidSize', state.bidSize);
  setDefined(out, 'ask', state.ask);
  setDefined(out, 'askSize', state.askSize);
  setDefined(out, 'last', state.last);
  setDefined(out, 'lastSize', state.lastSize);
  if (state.last !== undefined) out.volume = state.volume.value();
  setDefined(out, 'exchTs', state.exchTs);
  return out;
}

export function binanceFeed(options: BinanceOptions): ExchangeFeed {
  return new ExchangeFeed('binance', options, new BinanceProtocol(options));
}
