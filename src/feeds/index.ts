export type { FeedAdapter, RecordSink } from './adapter.js';
export { TickPublisher, type PublisherOptions } from './publisher.js';
export { startFeedRole, type FeedRole, type FeedRoleConfig } from './role.js';
export { DEFAULT_INSTRUMENTS, MarketSimulator, SimulatedFeed, type Instrument } from './simulated/index.js';
export { registerFeedMetrics } from './metrics.js';
export { feedsSchema, feedsSettingsProblem, noFeedProblem, type FeedsSettings } from './settings.js';
