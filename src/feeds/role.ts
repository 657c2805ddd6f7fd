import { randomInt } from 'node:crypto';
import { zmqSocketOptions, type ConnectSettings, type ZmqSettings } from '../config/index.js';
import type { Logger } from '../log/index.js';
import type { RoleContext, RoleHandle } from '../role/index.js';
import type { FabricSecurity } from '../curve/index.js';
import type { FeedAdapter } from './adapter.js';
import { binanceFeed } from './binance/index.js';
import { coinbaseFeed } from './coinbase/index.js';
import type { ExchangeOptions } from './exchange/feed.js';
import { IngestAdapter } from './ingest/index.js';
import { registerFeedMetrics } from './metrics.js';
import { TickPublisher } from './publisher.js';
import { ReplayFeed } from './replay/index.js';
import type { FeedsSettings } from './settings.js';
import { DEFAULT_INSTRUMENTS, SimulatedFeed } from './simulated/index.js';
import { AdapterSupervisor, type AdapterState, type Deliver } from './supervisor.js';
import { VenueStatus, type VenueStatusView } from './venue-status.js';

/** What the feed role reads of the configuration: its own keys, the proxy frontend and the socket linger. */
export interface FeedRoleConfig {
  readonly feeds: FeedsSettings;
  readonly connect: Pick<ConnectSettings, 'frontend'>;
  readonly zmq: ZmqSettings;
}

export interface FeedRole extends RoleHandle {
  readonly publisher: TickPublisher;
  /** Per-adapter state for metrics: plain numbers, a fresh copy each call. */
  adapters(): AdapterState[];
  /** Every known venue's status as published on status.<venue>. */
  venues(): VenueStatusView[];
}

/** The configured adapters, each under its own supervisor, behind one publisher connected to the proxy frontend. */
export async function startFeedRole(config: FeedRoleConfig, log: Logger, { security }: RoleContext): Promise<FeedRole> {
  const { feeds, connect, zmq } = config;
  // Ingest binds under its supervisor, which retries failures: a certificate problem is refused here, at start-up.
  if (feeds.ingest.enabled && security.enabled) security.prepareServer('publishers');
  const adapters = configuredAdapters(feeds, log, security);
  refuseSharedVenues(adapters);
  const publisher = new TickPublisher(
    { endpoints: connect.frontend, sendHwm: feeds.sendHwm, queueLimit: feeds.queueLimit, socket: zmqSocketOptions(zmq), subscriberWaitMs: feeds.subscriberWaitMs, curve: security.clientKeys() },
    log,
  );
  await publisher.connect();
  const status = new VenueStatus({ staleAfterMs: feeds.staleAfterMs, repeatMs: feeds.statusRepeatMs }, (record) => publisher.publishStatus(record));
  const deliver: Deliver = (kind, record, source) => publisher.offer(kind, record, source);
  const supervisorOptions = { backoff: { minDelayMs: feeds.restart.minDelayMs, maxDelayMs: feeds.restart.maxDelayMs, jitter: 0.5 }, stallMs: feeds.restart.stallMs };
  const supervisors = adapters.map((adapter) => new AdapterSupervisor(adapter, supervisorOptions, deliver, status, log.child({ adapter: adapter.name })));
  status.start();
  await Promise.all(supervisors.map((supervisor) => supervisor.start()));
  const role: FeedRole = {
    publisher,
    adapters: () => supervisors.map((supervisor) => supervisor.state()),
    venues: () => status.view(),
    registerMetrics: (registry) => registerFeedMetrics(registry, role),
    // Connected to the proxy frontend; adapters that are down show on status.<venue>, not here.
    ready: () => true,
    async stop() {
      await Promise.all(supervisors.map((supervisor) => supervisor.stop()));
      status.stop('shutdown');
      await publisher.close();
      log.info({ published: publisher.published, dropped: publisher.dropped, epoch: publisher.epoch }, 'feed stopped');
    },
  };
  return role;
}

function configuredAdapters(feeds: FeedsSettings, log: Logger, security: FabricSecurity): FeedAdapter[] {
  const adapters: FeedAdapter[] = [];
  if (feeds.simulated.enabled) {
    const { rate, instruments, bookDepth, trades } = feeds.simulated;
    const seed = feeds.simulated.seed ?? randomInt(0, 0x1_0000_0000);
    const { bookSnapshotIntervalMs } = feeds;
    adapters.push(new SimulatedFeed({ instruments: instruments.length > 0 ? instruments : DEFAULT_INSTRUMENTS, rate, seed, bookDepth, trades, bookSnapshotIntervalMs }));
    log.info({ adapter: 'simulated', rate, seed, bookDepth, trades, instruments: instruments.length || DEFAULT_INSTRUMENTS.length }, 'feed starting');
  }
  const exchange = (url: string, venue: string, symbols: readonly string[]): ExchangeOptions => ({
    url, venue, symbols,
    backoff: { minDelayMs: feeds.reconnect.minDelayMs, maxDelayMs: feeds.reconnect.maxDelayMs, jitter: 0.5 },
    maxMessageBytes: feeds.reconnect.maxMessageBytes,
    bookSnapshotIntervalMs: feeds.bookSnapshotIntervalMs,
  });
  if (feeds.coinbase.enabled) {
    const { url, venue, productIds, bookDepth } = feeds.coinbase;
    adapters.push(coinbaseFeed({ ...exchange(url, venue, productIds), bookDepth }));
    log.info({ adapter: 'coinbase', url, venue, productIds, bookDepth }, 'feed starting');
  }
  if (feeds.binance.enabled) {
    const { url, venue, symbols, plannedReconnectMs, restUrl, depthLimit, snapshotTimeoutMs, maxBufferedEvents } = feeds.binance;
    adapters.push(binanceFeed({ ...exchange(url, venue, symbols), plannedReconnectMs, restUrl, depthLimit, snapshotTimeoutMs, maxBufferedEvents }));
    log.info({ adapter: 'binance', url, restUrl, venue, symbols, depthLimit }, 'feed starting');
  }
  if (feeds.replay.file !== '') {
    adapters.push(new ReplayFeed(feeds.replay));
    log.info({ adapter: 'replay', ...feeds.replay }, 'feed starting');
  }
  if (feeds.ingest.enabled) {
    adapters.push(new IngestAdapter(feeds.ingest, security));
    log.info({ adapter: 'ingest', endpoint: feeds.ingest.endpoint, subEndpoint: feeds.ingest.subEndpoint }, 'feed starting');
  }
  return adapters;
}

/** Two adapters declaring one venue would fight over its topics: refused before anything starts, naming both. */
export function refuseSharedVenues(adapters: readonly FeedAdapter[]): void {
  const owners = new Map<string, string>();
  for (const adapter of adapters) {
    for (const venue of adapter.venues) {
      const owner = owners.get(venue);
      if (owner !== undefined) throw new Error(`feed adapters ${owner} and ${adapter.name} both publish venue ${venue}: one venue's topics can have only one source`);
      owners.set(venue, adapter.name);
    }
  }
}
