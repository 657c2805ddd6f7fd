/** Coinbase Exchange's public market-data feed: channels ticker, heartbeat, level2_batch (books) and matches (trades). */
export { CoinbaseProtocol, coinbaseFeed, type CoinbaseOptions } from './protocol.js';
