import type { Registry } from 'prom-client';
import { counterOf, countersBy, gaugeOf, gaugesBy, registerLineMetrics, withZeros } from '../metrics/index.js';
import { nowMicros, REJECT_REASONS } from '../wire/index.js';
import type { SnapshotRole } from './role.js';
import { BOOK_PROBLEMS } from './held-book.js';

/** Every answer the service can give, as `command result` keys of SnapshotService.requests. */
const ANSWERS = ['PING ok', 'SNAPSHOT ok', 'SNAPSHOT too_large', 'SNAPSHOT bad_request', 'SNAPSHOT unavailable', 'REPLAY ok', 'REPLAY gone', 'REPLAY unavailable', '? bad_request'];

export function registerSnapshotMetrics(registry: Registry, role: SnapshotRole): void {
  const { store, service } = role;
  countersBy(registry, 'tickfan_snapshot_requests_total', 'Snapshot service requests answered, by command (SNAPSHOT, REPLAY, PING, ? when unparseable) and result.', ['command', 'result'], function* () {
    for (const [key, count] of withZeros(ANSWERS, service.requests)) {
      const [command, result] = key.split(' ');
      yield [{ command: command!, result: result! }, count];
    }
  });
  service.durations.register(registry);
  registerLineMetrics(registry, 'snapshot', role.lines);
  counterOf(registry, 'tickfan_snapshot_records_served_total', 'Records sent in SNAPSHOT and REPLAY replies.', () => service.recordsServed);
  counterOf(registry, 'tickfan_snapshot_replies_dropped_total', 'Replies dropped because the reply queue was full (the client times out and retries).', () => service.repliesDropped);
  countersBy(registry, 'tickfan_snapshot_messages_ingested_total', 'Messages from the proxy taken into the store, by outcome (applied, duplicate, gap, new_epoch, older, new_topic, topic_limit).', ['outcome'], function* () {
    for (const [outcome, count] of Object.entries(store.counts)) yield [{ outcome }, count];
  });
  countersBy(registry, 'tickfan_snapshot_messages_rejected_total', 'Messages from the proxy that failed to decode, by reason.', ['reason'], function* () {
    for (const [reason, count] of withZeros<string>(REJECT_REASONS, role.rejected)) yield [{ reason }, count];
  });
  countersBy(registry, 'tickfan_snapshot_books_incomplete_total', 'Times a book topic turned incomplete, left out of SNAPSHOT until a snapshot record of it arrives, by reason (gap, update_first, checksum_mismatch, too_many_levels).', ['reason'], function* () {
    for (const reason of BOOK_PROBLEMS) yield [{ reason }, store.bookProblems[reason]];
  });
  gaugeOf(registry, 'tickfan_snapshot_books_incomplete', 'Book topics held incomplete now (not served by SNAPSHOT).', () => store.countIncompleteBooks());
  gaugesBy(registry, 'tickfan_snapshot_venue_last_tick_age_seconds', 'Seconds since the newest tick of each venue (by its header ts) that this snapshot service holds: how fresh the fabric is, whatever happened to the feed process.', ['venue'], () => venueAges(role));
  gaugeOf(registry, 'tickfan_snapshot_topics', 'Topics the snapshot service holds.', () => store.topicCount);
  gaugeOf(registry, 'tickfan_snapshot_history_bytes', 'Bytes of history retained over all topics.', () => store.historyBytes);
}

/** Per venue, the age of its newest tick; computed at scrape time from the held state, nothing on the hot path. */
function venueAges(role: SnapshotRole): [{ venue: string }, number][] {
  const newest = new Map<string, number>();
  for (const [topic, ts] of role.store.newestTimestamps()) {
    if (!topic.startsWith('tick.')) continue;
    const venue = topic.slice(5, topic.indexOf('.', 5));
    if (ts > (newest.get(venue) ?? 0)) newest.set(venue, ts);
  }
  const now = nowMicros();
  return [...newest].map(([venue, ts]) => [{ venue }, Math.max(0, (now - ts) / 1e6)]);
}
