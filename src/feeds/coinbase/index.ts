/** Coinbase Exchange's public market-data feed: channels ticker and heartbeat. */
export { CoinbaseProtocol, coinbaseFeed } from './protocol.js';
