import type { Registry } from 'prom-client';
import { counterOf, countersBy, gaugeOf } from '../metrics/index.js';
import type { SnapshotRole } from './role.js';

export function registerSnapshotMetrics(registry: Registry, role: SnapshotRole): void {
  const { store, service } = role;
  countersBy(registry, 'tickfan_snapshot_requests_total', 'Snapshot service requests answered, by command (SNAPSHOT, REPLAY, PING, ? when unparseable) and result.', ['command', 'result'], function* () {
    for (const [key, count] of service.requests) {
      const [command, result] = key.split(' ');
      yield [{ command: command!, result: result! }, count];
    }
  });
  service.durations.register(registry);
  counterOf(registry, 'tickfan_snapshot_records_served_total', 'Records sent in SNAPSHOT and REPLAY replies.', () => service.recordsServed);
  counterOf(registry, 'tickfan_snapshot_replies_dropped_total', 'Replies dropped because the reply queue was full (the client times out and retries).', () => service.repliesDropped);
  countersBy(registry, 'tickfan_snapshot_messages_ingested_total', 'Messages from the proxy taken into the store, by outcome (applied, duplicate, gap, new_epoch, new_topic, topic_limit).', ['outcome'], function* () {
    for (const [outcome, count] of Object.entries(store.counts)) yield [{ outcome }, count];
  });
  countersBy(registry, 'tickfan_snapshot_messages_rejected_total', 'Messages from the proxy that failed to decode, by reason.', ['reason'], function* () {
    for (const [reason, count] of role.rejected) yield [{ reason }, count];
  });
  gaugeOf(registry, 'tickfan_snapshot_topics', 'Topics the snapshot service holds.', () => store.topicCount);
  gaugeOf(registry, 'tickfan_snapshot_history_bytes', 'Bytes of history retained over all topics.', () => store.historyBytes);
}
