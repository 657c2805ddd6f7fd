import type { AdapterMonitor, RecordSink } from '../adapter.js';
import type { TickRecord } from '../../wire/index.js';
import { DecimalSum, parseDecimal } from '../exchange/decimal.js';
import { ExchangeFeed, UpstreamReject, field, integer, messageObject, setDefined, text, type ExchangeOptions, type ExchangeProtocol } from '../exchange/feed.js';

export interface BinanceOptions extends ExchangeOptions {
  /** Binance closes every connection after 24 h; the adapter replaces it this long after it opened. */
  readonly plannedReconnectMs: number;
}

/** One symbol's L1 state, merged from bookTicker (quotes) and aggTrade (trades). */
interface SymbolState extends Pick<TickRecord, 'bid' | 'bidSize' | 'ask' | 'askSize' | 'last' | 'lastSize' | 'exchTs'> {
  readonly symbol: string;
  /** Traded quantity since the adapter started, summed exactly. */
  readonly volume: DecimalSum;
  /** The newest order book update id (`u`); older bookTickers are stale and dropped. */
  updateId: number;
  /** The newest aggregate trade id (`a`); ids are consecutive, so a jump is a gap. */
  aggId: number | undefined;
}

/**
 * Binance's combined streams `<symbol>@bookTicker` and `<symbol>@aggTrade`. Every message
 * updates its symbol's merged state and publishes the full record. During a planned reconnect
 * both connections deliver for a moment; the ids drop whatever arrives twice.
 */
export class BinanceProtocol implements ExchangeProtocol {
  readonly url: string;
  readonly subscribeMessages: readonly string[] = [];
  readonly plannedReconnectMs: number;
  /** By the upper-case symbol of the data (`s`). */
  private readonly symbols = new Map<string, SymbolState>();
  private emit: RecordSink | undefined;
  private monitor: AdapterMonitor | undefined;

  constructor(private readonly options: BinanceOptions) {
    const streams = options.symbols.flatMap((symbol) => [`${symbol.toLowerCase()}@bookTicker`, `${symbol.toLowerCase()}@aggTrade`]);
    this.url = `${options.url.replace(/\/+$/, '')}/stream?streams=${streams.join('/')}`;
    this.plannedReconnectMs = options.plannedReconnectMs;
  }

  start(emit: RecordSink, monitor: AdapterMonitor): void {
    this.emit = emit;
    this.monitor = monitor;
    this.symbols.clear();
    for (const symbol of this.options.symbols) {
      const name = symbol.toUpperCase();
      this.symbols.set(name, { symbol: name, volume: new DecimalSum(), updateId: 0, aggId: undefined });
    }
  }

  stop(): void {}

  /** Nothing to forget: the update and trade ids drop what a new connection repeats. */
  connectionLost(): void {}

  handle(message: unknown): void {
    const object = messageObject(message);
    if (object.error !== undefined || object.code !== undefined) {
      const error = messageObject(object.error ?? object);
      throw new UpstreamReject('upstream_error', `exchange error ${String(error.code)}: ${String(error.msg)}`);
    }
    const stream = field(object, 'stream', text);
    const data = messageObject(object.data);
    if (stream.endsWith('@bookTicker')) return this.bookTicker(data);
    if (stream.endsWith('@aggTrade')) return this.aggTrade(data);
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

  private aggTrade(data: Record<string, unknown>): void {
    const state = this.state(data);
    const aggId = field(data, 'a', integer);
    if (state.aggId !== undefined && aggId <= state.aggId) throw new UpstreamReject('out_of_order', `${state.symbol} trade ${aggId} is not after ${state.aggId}`);
    const last = field(data, 'p', parseDecimal);
    const quantity = field(data, 'q', text);
    const lastSize = field(data, 'q', parseDecimal);
    const tradeTime = field(data, 'T', integer);
    if (state.aggId !== undefined && aggId > state.aggId + 1) this.monitor?.upstreamGap();
    state.aggId = aggId;
    state.last = last;
    state.lastSize = lastSize;
    state.volume.add(quantity);
    state.exchTs = tradeTime * 1000;
    this.emit?.tick(record(this.options.venue, state));
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
