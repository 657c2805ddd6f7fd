/** Binance's public combined streams: <symbol>@bookTicker and <symbol>@aggTrade. */
export { BinanceProtocol, binanceFeed, type BinanceOptions } from './protocol.js';
