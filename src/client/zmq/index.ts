export { TickStream, type TickStreamOptions } from './stream.js';
export { LineSet, lineProbe, DEFAULT_ARBITRATION_MS, type LineSetOptions, type LineStatus } from './lines.js';
export { SnapshotClient, SnapshotError, SnapshotUnavailable, type SnapshotClientOptions } from './snapshot-client.js';
export { TickSubscriber, CATCH_UP_DELAYS_MS, type TickSubscriberOptions, type TopicEntry, type Update, type SubscriberCounters } from './subscriber.js';
