import type { Registry } from 'prom-client';
import { counterOf, countersBy, withZeros } from '../metrics/index.js';
import { REJECT_REASONS } from '../wire/index.js';
import type { FeedRole } from './role.js';

export function registerFeedMetrics(registry: Registry, feed: FeedRole): void {
  const { publisher } = feed;
  counterOf(registry, 'tickfan_feed_ticks_published_total', 'Ticks the feed published (validated, sequenced, sent).', () => publisher.published);
  countersBy(registry, 'tickfan_feed_ticks_rejected_total', 'Records the feed refused at ingest, by reason.', ['reason'], function* () {
    for (const [reason, count] of withZeros(REJECT_REASONS, publisher.rejected)) yield [{ reason }, count];
  });
  counterOf(registry, 'tickfan_feed_ticks_dropped_total', 'Ticks dropped because the publisher\'s send queue was full (feeds.queueLimit).', () => publisher.dropped);
}
