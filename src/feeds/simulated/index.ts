/** The simulated market feed: a deterministic L1 market of crypto pairs and equities, paced to a rate. */
export { DEFAULT_INSTRUMENTS, instrumentsProblem, type Instrument } from './instruments.js';
export { MarketSimulator, type MarketOptions, type MarketStep } from './market.js';
export { SimulatedFeed, type SimulatedFeedOptions } from './feed.js';
