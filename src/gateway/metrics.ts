import type { Registry } from 'prom-client';
import { BucketHistogram, counterOf, countersBy, gaugeOf, gaugesBy, registerLineMetrics, withZeros } from '../metrics/index.js';
import { RESUME_OUTCOMES, UPGRADE_REFUSALS, type Gateway } from './gateway.js';
import { BOOK_BREAKS } from './books.js';
import { REPLAY_RESULTS } from './replay.js';
import { UPSTREAM_REPAIRS } from './upstream.js';
import { CloseCode, ERROR_CODES, REJECT_REASONS } from '../wire/index.js';

/** Close codes an operator watches (PROTOCOL.md section 5, with normal and dropped); others appear when they occur. */
const CLOSE_CODES = Object.values(CloseCode);

const BACKLOG_BUCKETS_BYTES = [0, 1024, 16 * 1024, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024, 16 * 1024 * 1024];

/**
 * The gateway's metrics, read from its own counters at scrape time: the hot path only adds
 * integers (per flush, not per event) and samples one latency per frame.
 */
export function registerGatewayMetrics(registry: Registry, gateway: Gateway): void {
  gaugeOf(registry, 'tickfan_gateway_connections', 'WebSocket clients connected now.', () => gateway.connections);
  counterOf(registry, 'tickfan_gateway_connections_opened_total', 'WebSocket connections accepted.', () => gateway.counters.opened);
  countersBy(registry, 'tickfan_gateway_connections_closed_total', `WebSocket connections closed, by close code (${CloseCode.UNAUTHENTICATED} unauthenticated, ${CloseCode.FORBIDDEN} forbidden, ${CloseCode.SLOW_CONSUMER} slow consumer, ${CloseCode.GOING_AWAY} shutdown, ${CloseCode.SERVICE_RESTART} drained for a restart, ...).`, ['code'], function* () {
    for (const [code, count] of withZeros(CLOSE_CODES, gateway.counters.closedByCode)) yield [{ code }, count];
  });
  countersBy(registry, 'tickfan_gateway_upgrades_refused_total', 'WebSocket upgrades refused, by reason: HTTP 503 draining (a deploy) or max_connections (gateway.maxConnections); HTTP 403 origin (not in gateway.allowedOrigins); HTTP 429 address_connections (gateway.maxConnectionsPerAddress), address_rate (gateway.upgradesPerSecondPerAddress), too_many_addresses (more distinct addresses within one second than the gateway tracks).', ['reason'], function* () {
    for (const [reason, count] of withZeros(UPGRADE_REFUSALS, gateway.counters.upgradesRefused)) yield [{ reason }, count];
  });
  gaugeOf(registry, 'tickfan_gateway_draining', `1 while the gateway drains (SIGTERM): not ready, refusing upgrades, closing its clients with ${CloseCode.SERVICE_RESTART} over gateway.drainMs.`, () => (gateway.draining ? 1 : 0));
  gaugeOf(registry, 'tickfan_gateway_subscriptions', 'Subscription patterns held by connected clients.', () => gateway.subscriptions);
  counterOf(registry, 'tickfan_gateway_ticks_received_total', 'Ticks the gateway took from upstream (each once).', () => gateway.counters.ticksReceived);
  counterOf(registry, 'tickfan_gateway_events_sent_total', 'Events sent to clients (ticks, snapshots and control events).', () => gateway.traffic.eventsSent);
  counterOf(registry, 'tickfan_gateway_frames_sent_total', 'WebSocket frames sent to clients (each a JSON array of events).', () => gateway.traffic.framesSent);
  counterOf(registry, 'tickfan_gateway_sent_bytes_total', 'Bytes of frames sent to clients (payload, before WebSocket framing).', () => gateway.traffic.bytesSent);
  counterOf(registry, 'tickfan_gateway_ticks_conflated_total', 'Pending ticks replaced by a newer tick of the same topic for a client that fell behind.', () => gateway.traffic.conflated);
  counterOf(registry, 'tickfan_gateway_slow_consumer_closes_total', `Clients closed with ${CloseCode.SLOW_CONSUMER} (behind with conflate:false).`, () => gateway.counters.slowConsumerCloses);
  countersBy(registry, 'tickfan_gateway_client_errors_total', 'Error events sent to clients, by code.', ['code'], function* () {
    for (const [code, count] of withZeros(ERROR_CODES, gateway.counters.errorsByCode)) yield [{ code }, count];
  });
  registerLineMetrics(registry, 'gateway', gateway.upstreamLines);
  counterOf(registry, 'tickfan_gateway_jwks_reload_failures_total', 'Times a changed gateway.auth.jwksFile could not be used (unreadable or invalid): the keys in use stayed.', () => gateway.jwksReloadFailures);
  countersBy(registry, 'tickfan_gateway_upstream_repairs_total', 'How the gateway\'s upstream subscribers kept its state whole, by event: gapsDetected, then gapsRepaired (REPLAY), resnapshots and gapsSkipped (seq jumps clients see); verifyRepairs (state a check found behind); resets (a source restarted); heldOverruns (live messages dropped behind a repair in flight, each then a gap); bookResyncs (books whose checksum failed, taken afresh from a snapshot).', ['event'], function* () {
    for (const [event, count] of withZeros(UPSTREAM_REPAIRS, gateway.upstreamRepairs)) yield [{ event }, count];
  });
  countersBy(registry, 'tickfan_gateway_messages_rejected_total', 'Messages from the fabric (live stream, snapshot and replay replies) that failed to decode, by reason: dropped, never sent to a client.', ['reason'], function* () {
    for (const [reason, count] of withZeros<string>(REJECT_REASONS, gateway.upstreamRejects)) yield [{ reason }, count];
  });
  countersBy(registry, 'tickfan_gateway_books_broken_total', 'Book records after which the gateway\'s book of the topic was not the source\'s, by reason: checksum (the book after the record did not match its checksum), gap (an update not following the held seq, a gap upstream did not repair), no_snapshot (a topic\'s or an epoch\'s first record was an update), too_deep (a side past the gateway\'s bound). The topic serves no snapshot or merged update until its next snapshot record; subscribers wait for that.', ['reason'], function* () {
    for (const [reason, count] of withZeros(BOOK_BREAKS, gateway.bookBreaks)) yield [{ reason }, count];
  });
  countersBy(registry, 'tickfan_gateway_resumes_total', 'Topics of `since` resumes, by how they were answered: current (missed nothing), history (the gateway\'s own), replay (the snapshot service\'s REPLAY), snapshot (a fresh snapshot: the ticks were not to be had, or the epoch changed).', ['outcome'], function* () {
    for (const [outcome, count] of withZeros(RESUME_OUTCOMES, gateway.counters.resumes)) yield [{ outcome }, count];
  });
  countersBy(registry, 'tickfan_gateway_replay_requests_total', 'REPLAY requests to the snapshot service for resumes beyond the gateway\'s history (resumes of one topic share one), by result; queue_full: not sent, gateway.maxQueuedReplays already waited.', ['result'], function* () {
    for (const [result, count] of withZeros(REPLAY_RESULTS, gateway.replayer?.results ?? new Map())) yield [{ result }, count];
  });
  gaugesBy(registry, 'tickfan_gateway_replays_pending', 'REPLAY requests waiting for a connection (at most gateway.maxQueuedReplays) or in flight (at most gateway.replayConcurrency).', ['state'], function* () {
    yield [{ state: 'waiting' }, gateway.replayer?.waitingCount ?? 0];
    yield [{ state: 'in_flight' }, gateway.replayer?.inFlightCount ?? 0];
  });
  gaugeOf(registry, 'tickfan_gateway_upstream_prefixes', 'Prefixes the gateway follows on the proxy (client interest, plus lingering ones).', () => gateway.upstreamPrefixes.length);
  gaugeOf(registry, 'tickfan_gateway_cached_topics', 'Topics in the gateway\'s event cache.', () => gateway.cachedTopics);
  gateway.latency.register(registry);
  new BucketHistogram(
    'tickfan_gateway_client_send_queue_bytes',
    'Bytes each connected client\'s socket holds unsent, as a distribution over clients taken at scrape time.',
    BACKLOG_BUCKETS_BYTES,
    (histogram) => {
      histogram.reset();
      for (const bytes of gateway.clientBacklogs()) histogram.observe(bytes);
    },
  ).register(registry);
}
