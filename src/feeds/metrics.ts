import type { Registry } from 'prom-client';
import { counterOf, countersBy, gaugesBy, withZeros } from '../metrics/index.js';
import { REJECT_REASONS } from '../wire/index.js';
import type { FeedRole } from './role.js';

const VENUE_STATES = ['up', 'stale', 'down'] as const;

/** The feed role's metrics: the publisher's counters, each adapter's supervised state, each venue's freshness. */
export function registerFeedMetrics(registry: Registry, feed: FeedRole): void {
  const { publisher } = feed;
  counterOf(registry, 'tickfan_feed_ticks_published_total', 'Messages the feed published (ticks, books, trades and status; validated, sequenced, sent).', () => publisher.published);
  countersBy(registry, 'tickfan_feed_ticks_rejected_total', 'Records (ticks, books, trades) the feed refused at ingest, by reason.', ['reason'], function* () {
    for (const [reason, count] of withZeros(REJECT_REASONS, publisher.rejected)) yield [{ reason }, count];
  });
  counterOf(registry, 'tickfan_feed_ticks_dropped_total', 'Records dropped because the publisher\'s send queue was full (feeds.queueLimit).', () => publisher.dropped);

  const perAdapter = (read: (state: ReturnType<FeedRole['adapters']>[number]) => number) => function* () {
    for (const state of feed.adapters()) yield [{ feed: state.name }, read(state)] as const;
  };
  gaugesBy(registry, 'tickfan_feed_adapter_up', 'Whether each feed adapter runs and is connected upstream (1) or not (0).', ['feed'], perAdapter((s) => (s.up ? 1 : 0)));
  countersBy(registry, 'tickfan_feed_adapter_ticks_total', 'Records (ticks, books, trades) of each feed adapter that the publisher sent.', ['feed'], perAdapter((s) => s.ticks));
  countersBy(registry, 'tickfan_feed_adapter_restarts_total', 'Restarts of each feed adapter by its supervisor (after a crash or a stall).', ['feed'], perAdapter((s) => s.restarts));
  countersBy(registry, 'tickfan_feed_adapter_reconnects_total', 'Upstream reconnects of each exchange adapter.', ['feed'], perAdapter((s) => s.reconnects));
  countersBy(registry, 'tickfan_feed_adapter_upstream_gaps_total', 'Gaps in an exchange\'s own sequence seen by each adapter.', ['feed'], perAdapter((s) => s.upstreamGaps));
  countersBy(registry, 'tickfan_feed_adapter_rejected_total', 'Records of each feed adapter refused, by reason.', ['feed', 'reason'], function* () {
    for (const state of feed.adapters()) for (const [reason, count] of Object.entries(state.rejected)) yield [{ feed: state.name, reason }, count];
  });
  gaugesBy(registry, 'tickfan_feed_last_tick_age_seconds', 'Seconds since each venue\'s last tick, as its feed sees it (absent before the first).', ['venue'], function* () {
    const now = Date.now();
    for (const venue of feed.venues()) if (venue.lastTickAt !== undefined) yield [{ venue: venue.venue }, Math.max(0, (now - venue.lastTickAt) / 1000)];
  });
  gaugesBy(registry, 'tickfan_feed_venue_state', 'Each venue\'s published status: 1 for its current state (up, stale, down), 0 for the others.', ['venue', 'state'], function* () {
    for (const venue of feed.venues()) for (const state of VENUE_STATES) yield [{ venue: venue.venue, state }, venue.state === state ? 1 : 0];
  });
}
