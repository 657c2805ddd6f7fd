/**
 * The panels of dashboards/tickfan.json, row by row. Every query filters on the dashboard's
 * variables; test/observability/ evaluates each one against a real Prometheus.
 */

export interface Query {
  readonly expr: string;
  readonly legend: string;
}

export interface Panel {
  readonly title: string;
  /** A Grafana unit id: reqps, s, bytes, percentunit, short, ... */
  readonly unit: string;
  readonly description: string;
  readonly queries: readonly Query[];
}

export interface Row {
  readonly title: string;
  readonly panels: readonly Panel[];
}

/** The selector every tickfan series is filtered with. */
const JOB = 'job=~"$job",instance=~"$instance"';
const rate = (metric: string, by = '', extra = ''): string => `sum${by ? ` by (${by})` : ''} (rate(${metric}{${JOB}${extra}}[$__rate_interval]))`;
const quantile = (q: number, metric: string): string => `histogram_quantile(${q}, sum by (le) (rate(${metric}_bucket{${JOB}}[$__rate_interval])))`;

export const ROWS: readonly Row[] = [
  {
    title: 'Flow',
    panels: [
      {
        title: 'Messages into and out of the proxy', unit: 'reqps',
        description: 'Measured at the edges: what the feeds publish into the proxy (ticks and status), and what tickfan\'s subscribers take out of it (the gateways count ticks, the snapshot services every message; ZeroMQ SDK clients count their own). The native proxy (proxy.mode native, the default) forwards inside libzmq, and zeromq.js gives no count of it; proxy.mode js also exports tickfan_proxy_messages_forwarded_total.',
        queries: [
          { expr: rate('tickfan_feed_ticks_published_total'), legend: 'in: published by feeds' },
          { expr: rate('tickfan_gateway_ticks_received_total'), legend: 'out: received by gateways' },
          { expr: rate('tickfan_snapshot_messages_ingested_total'), legend: 'out: ingested by snapshot services' },
        ],
      },
      {
        title: 'Proxy connections', unit: 'short', description: 'Subscriber connections on the proxy\'s XPUB backend and publisher connections on its XSUB frontend.',
        queries: [
          { expr: `sum(tickfan_proxy_subscribers{${JOB}})`, legend: 'subscribers' },
          { expr: `sum(tickfan_proxy_publishers{${JOB}})`, legend: 'publishers' },
        ],
      },
      {
        title: 'Sent to WebSocket clients', unit: 'reqps', description: 'Events and frames per second out of the gateways (a frame carries a batch of events).',
        queries: [
          { expr: rate('tickfan_gateway_events_sent_total'), legend: 'events/s' },
          { expr: rate('tickfan_gateway_frames_sent_total'), legend: 'frames/s' },
        ],
      },
      {
        title: 'Bytes sent to WebSocket clients', unit: 'Bps', description: 'Payload bytes per second out of the gateways.',
        queries: [{ expr: rate('tickfan_gateway_sent_bytes_total'), legend: 'bytes/s' }],
      },
      {
        title: 'Feed adapters', unit: 'short', description: 'Each adapter: up (1) or not, and its restarts, upstream reconnects and upstream sequence gaps over 5 minutes.',
        queries: [
          { expr: `max by (feed) (tickfan_feed_adapter_up{${JOB}})`, legend: '{{feed}} up' },
          { expr: `sum by (feed) (increase(tickfan_feed_adapter_restarts_total{${JOB}}[5m]))`, legend: '{{feed}} restarts' },
          { expr: `sum by (feed) (increase(tickfan_feed_adapter_reconnects_total{${JOB}}[5m]))`, legend: '{{feed}} reconnects' },
          { expr: `sum by (feed) (increase(tickfan_feed_adapter_upstream_gaps_total{${JOB}}[5m]))`, legend: '{{feed}} upstream gaps' },
        ],
      },
      {
        title: 'Ticks rejected and dropped', unit: 'reqps', description: 'Records a feed refused at ingest (by reason) and ticks dropped on a full publisher queue. Anything above zero needs a look at the feed\'s logs.',
        queries: [
          { expr: rate('tickfan_feed_ticks_rejected_total', 'reason'), legend: 'rejected: {{reason}}' },
          { expr: rate('tickfan_feed_ticks_dropped_total'), legend: 'dropped (queue full)' },
        ],
      },
    ],
  },
  {
    title: 'Freshness',
    panels: [
      {
        title: 'Tick latency (header ts to socket)', unit: 's', description: 'From the feed\'s header ts to the hand-off of the frame to the client socket, at the gateways.',
        queries: [
          { expr: quantile(0.5, 'tickfan_gateway_tick_latency_seconds'), legend: 'p50' },
          { expr: quantile(0.99, 'tickfan_gateway_tick_latency_seconds'), legend: 'p99' },
          { expr: quantile(0.999, 'tickfan_gateway_tick_latency_seconds'), legend: 'p99.9' },
        ],
      },
      {
        title: 'Last tick age by venue', unit: 's', description: 'Seconds since each venue\'s newest tick reached the snapshot services (what TickfanFeedStale watches). A venue above its usual value is quiet or stale.',
        queries: [
          { expr: `min by (venue) (tickfan_snapshot_venue_last_tick_age_seconds{${JOB},venue=~"$venue"})`, legend: '{{venue}} at the snapshot service' },
          { expr: `max by (venue) (tickfan_feed_last_tick_age_seconds{${JOB},venue=~"$venue"})`, legend: '{{venue}} at its feed' },
        ],
      },
      {
        title: 'Venue status', unit: 'short', description: 'Each venue\'s published status (status.<venue>): the series of its current state is 1.',
        queries: [{ expr: `max by (venue, state) (tickfan_feed_venue_state{${JOB},venue=~"$venue"}) == 1`, legend: '{{venue}} {{state}}' }],
      },
    ],
  },
  {
    title: 'Clients',
    panels: [
      {
        title: 'Connections and subscriptions', unit: 'short', description: 'WebSocket clients connected and the subscription patterns they hold.',
        queries: [
          { expr: `sum(tickfan_gateway_connections{${JOB}})`, legend: 'connections' },
          { expr: `sum(tickfan_gateway_subscriptions{${JOB}})`, legend: 'subscriptions' },
        ],
      },
      {
        title: 'Opens and closes by code', unit: 'ops', description: 'Connections opened, and closed by close code (4001 auth, 4003 forbidden, 4008 slow consumer, 1001 shutdown, 1006 dropped).',
        queries: [
          { expr: rate('tickfan_gateway_connections_opened_total'), legend: 'opened' },
          { expr: rate('tickfan_gateway_connections_closed_total', 'code'), legend: 'closed {{code}}' },
        ],
      },
      {
        title: 'Slow consumers and conflation', unit: 'ops', description: 'Clients closed with 4008 per second, and ticks conflated per second for clients that fell behind.',
        queries: [
          { expr: rate('tickfan_gateway_slow_consumer_closes_total'), legend: 'slow-consumer closes' },
          { expr: rate('tickfan_gateway_ticks_conflated_total'), legend: 'ticks conflated' },
        ],
      },
      {
        title: 'Conflation ratio', unit: 'percentunit', description: 'Share of ticks replaced by newer ones before reaching a client (0 when everyone keeps up).',
        queries: [{ expr: `${rate('tickfan_gateway_ticks_conflated_total')} / clamp_min(${rate('tickfan_gateway_ticks_conflated_total')} + ${rate('tickfan_gateway_events_sent_total')}, 1)`, legend: 'conflated / offered' }],
      },
      {
        title: 'Client send queue (p50, p99, max bucket)', unit: 'bytes', description: 'Bytes each client socket holds unsent, over clients, at each scrape.',
        queries: [
          { expr: `histogram_quantile(0.5, sum by (le) (tickfan_gateway_client_send_queue_bytes_bucket{${JOB}}))`, legend: 'p50' },
          { expr: `histogram_quantile(0.99, sum by (le) (tickfan_gateway_client_send_queue_bytes_bucket{${JOB}}))`, legend: 'p99' },
        ],
      },
      {
        title: 'Client errors by code', unit: 'ops', description: 'Error events sent to clients (BAD_REQUEST, BAD_TOPIC, FORBIDDEN, RATE_LIMITED, TOO_MANY_SUBSCRIPTIONS).',
        queries: [{ expr: rate('tickfan_gateway_client_errors_total', 'code'), legend: '{{code}}' }],
      },
    ],
  },
  {
    title: 'Snapshot',
    panels: [
      {
        title: 'Requests by command and result', unit: 'reqps', description: 'SNAPSHOT, REPLAY and PING answered per second; GONE and BAD_REQUEST show clients that fell far behind or misbehave.',
        queries: [{ expr: rate('tickfan_snapshot_requests_total', 'command, result'), legend: '{{command}} {{result}}' }],
      },
      {
        title: 'Request duration', unit: 's', description: 'Time to answer a request (arrival to reply queued).',
        queries: [
          { expr: quantile(0.5, 'tickfan_snapshot_request_duration_seconds'), legend: 'p50' },
          { expr: quantile(0.99, 'tickfan_snapshot_request_duration_seconds'), legend: 'p99' },
        ],
      },
      {
        title: 'Topics and history held', unit: 'short', description: 'Topics the snapshot services hold, and their retained history in bytes.',
        queries: [
          { expr: `sum(tickfan_snapshot_topics{${JOB}})`, legend: 'topics' },
          { expr: `sum(tickfan_snapshot_history_bytes{${JOB}})`, legend: 'history bytes' },
        ],
      },
      {
        title: 'Books not served', unit: 'short',
        description: 'Order books a snapshot service holds incomplete now (left out of SNAPSHOT until a snapshot record of the book arrives), and book records per second after which a gateway\'s book was not the source\'s, by reason. A restarted service\'s books come back within feeds.bookSnapshotIntervalMs.',
        queries: [
          { expr: `sum by (instance) (tickfan_snapshot_books_incomplete{${JOB}})`, legend: '{{instance}} incomplete' },
          { expr: rate('tickfan_gateway_books_broken_total', 'reason'), legend: 'gateway {{reason}}' },
        ],
      },
    ],
  },
  {
    title: 'Process',
    panels: [
      {
        title: 'CPU', unit: 'percentunit', description: 'CPU time per second of each process (1 = one core).',
        queries: [{ expr: `rate(process_cpu_seconds_total{${JOB}}[$__rate_interval])`, legend: '{{instance}}' }],
      },
      {
        title: 'Resident memory', unit: 'bytes', description: 'RSS of each process.',
        queries: [{ expr: `process_resident_memory_bytes{${JOB}}`, legend: '{{instance}}' }],
      },
      {
        title: 'JavaScript heap used', unit: 'bytes', description: 'V8 heap in use.',
        queries: [{ expr: `nodejs_heap_size_used_bytes{${JOB}}`, legend: '{{instance}}' }],
      },
      {
        title: 'Event-loop lag p99', unit: 's', description: 'How late the event loop runs: above a few ms, the process is saturated.',
        queries: [{ expr: `nodejs_eventloop_lag_p99_seconds{${JOB}}`, legend: '{{instance}}' }],
      },
      {
        title: 'GC time', unit: 'percentunit', description: 'Share of time spent in garbage collection.',
        queries: [{ expr: `sum by (instance) (rate(nodejs_gc_duration_seconds_sum{${JOB}}[$__rate_interval]))`, legend: '{{instance}}' }],
      },
    ],
  },
  {
    title: 'Lines',
    panels: [
      {
        title: 'Lines up', unit: 'none',
        description: 'Each line to the fabric (a proxy backend in connect.backend) as the line probes of the gateways and snapshot services see it: 1 connected and answering ZMTP heartbeats, 0 down.',
        queries: [{ expr: `{__name__=~"tickfan_(gateway|snapshot)_line_up",${JOB}}`, legend: '{{instance}} {{endpoint}}' }],
      },
      {
        title: 'Line duplicates, holes and overruns', unit: 'ops',
        description: 'A/B arbitration: copies dropped per line (another line was first), and seq jumps on a line that another filled within subscriber.arbitrationMs or that expired into gaps for the subscriber to repair. Overruns: messages a line lost because its reader in the process was a whole receive queue behind (repaired as gaps).',
        queries: ['gateway', 'snapshot'].flatMap((role) => [
          { expr: rate(`tickfan_${role}_line_duplicates_total`, 'endpoint'), legend: `${role} duplicates {{endpoint}}` },
          { expr: rate(`tickfan_${role}_line_overruns_total`, 'endpoint'), legend: `${role} overruns {{endpoint}}` },
          { expr: rate(`tickfan_${role}_line_holes_total`, 'outcome'), legend: `${role} holes {{outcome}}` },
        ]),
      },
    ],
  },
];
