/** Binance's public combined streams: <symbol>@bookTicker, <symbol>@trade and <symbol>@depth@100ms (with the REST depth snapshot). */
export { BinanceProtocol, binanceFeed, type BinanceOptions } from './protocol.js';
