export type { FeedAdapter, RecordSink } from './adapter.js';
export { TickPublisher, type PublisherOptions } from './publisher.js';
export { startFeedRole, type FeedRole } from './role.js';
export { DEFAULT_INSTRUMENTS, MarketSimulator, SimulatedFeed, type Instrument } from './simulated/index.js';
export { registerFeedMetrics } from './metrics.js';
