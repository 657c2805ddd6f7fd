export { TickStream, type TickStreamOptions } from './stream.js';
export { SnapshotClient, SnapshotError, SnapshotUnavailable, type SnapshotClientOptions } from './snapshot-client.js';
export { TickSubscriber, type TickSubscriberOptions, type TopicEntry, type Update, type SubscriberCounters } from './subscriber.js';
