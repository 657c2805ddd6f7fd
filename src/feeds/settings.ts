import type convict from 'convict';
import { BOOLEAN, checkedFormat, HWM_DOC, integerIn, isZmqEndpoint, jsonFromString, splitList, ZMQ_ENDPOINT } from '../config/index.js';
import { isSegment } from '../wire/index.js';
import { instrumentsProblem, type Instrument } from './simulated/index.js';

export interface FeedsSettings {
  readonly sendHwm: number;
  readonly queueLimit: number;
  readonly subscriberWaitMs: number;
  readonly staleAfterMs: number;
  readonly statusRepeatMs: number;
  readonly bookSnapshotIntervalMs: number;
  readonly restart: { readonly minDelayMs: number; readonly maxDelayMs: number; readonly stallMs: number };
  readonly reconnect: { readonly minDelayMs: number; readonly maxDelayMs: number; readonly maxMessageBytes: number };
  readonly simulated: {
    readonly enabled: boolean; readonly rate: number; readonly seed: number | null; readonly instruments: readonly Instrument[];
    readonly bookDepth: number; readonly trades: boolean;
  };
  readonly coinbase: { readonly enabled: boolean; readonly url: string; readonly venue: string; readonly productIds: readonly string[]; readonly bookDepth: number };
  readonly binance: {
    readonly enabled: boolean; readonly url: string; readonly venue: string; readonly symbols: readonly string[]; readonly plannedReconnectMs: number;
    readonly restUrl: string; readonly depthLimit: number; readonly snapshotTimeoutMs: number; readonly maxBufferedEvents: number;
  };
  readonly replay: { readonly file: string; readonly speed: number; readonly loop: boolean };
  readonly ingest: { readonly enabled: boolean; readonly endpoint: string; readonly subEndpoint: string; readonly maxRecordBytes: number; readonly receiveHwm: number };
}

function symbolListProblem(value: unknown): string | undefined {
  const ok = Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && /^[A-Za-z0-9_\-/:+=^.]{1,100}$/.test(v));
  return ok ? undefined : 'must be a non-empty list of instrument names (topic characters and dots)';
}

const INSTRUMENT_NAMES = checkedFormat('list of instrument names', symbolListProblem, splitList);
const VENUE = checkedFormat(
  'venue: one topic segment of [A-Za-z0-9_-/:+=^]',
  (value) => (typeof value === 'string' && isSegment(value) ? undefined : 'must be one topic segment of [A-Za-z0-9_-/:+=^] (no dots)'),
  (value) => value,
);
const WS_URL = checkedFormat(
  'WebSocket URL: ws://HOST[:PORT][/PATH] or wss://...',
  (value) => (typeof value === 'string' && /^wss?:\/\/[^\s/]+(\/\S*)?$/.test(value) ? undefined : 'must be a ws:// or wss:// URL'),
  (value) => value,
);
const HTTP_URL = checkedFormat(
  'HTTP URL: http://HOST[:PORT] or https://...',
  (value) => (typeof value === 'string' && /^https?:\/\/[^\s/]+(\/\S*)?$/.test(value) ? undefined : 'must be an http:// or https:// URL'),
  (value) => value,
);
/** The limits GET /api/v3/depth takes, from the checksum's 10 levels up. */
const BINANCE_DEPTH_LIMITS = [10, 20, 50, 100, 500, 1000, 5000];
const BINANCE_DEPTH_LIMIT = checkedFormat(
  `one of ${BINANCE_DEPTH_LIMITS.join(', ')}`,
  (value) => (BINANCE_DEPTH_LIMITS.includes(value as number) ? undefined : `must be one of ${BINANCE_DEPTH_LIMITS.join(', ')} (the limits Binance's REST depth takes, at least the checksum's 10)`),
  (value) => (/^\d+$/.test(value.trim()) ? Number(value) : value),
);
const SPEED = checkedFormat(
  'number >= 0',
  (value) => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? undefined : 'must be a number >= 0'),
  (value) => (/^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value),
);
const ZMQ_ENDPOINT_OR_NONE = checkedFormat(
  `${ZMQ_ENDPOINT}, or "" for none`,
  (value) => (value === '' || (typeof value === 'string' && isZmqEndpoint(value)) ? undefined : 'must be a ZeroMQ endpoint or ""'),
  (value) => value,
);

/** The feed role's keys of the configuration (feeds.*): the publisher, the supervisor and every adapter. */
export const feedsSchema: convict.Schema<{ feeds: FeedsSettings }> = {
  feeds: {
    sendHwm: { doc: `Send high-water mark of the feed publisher, ${HWM_DOC}.`, format: integerIn(1, 10_000_000), default: 200_000 },
    queueLimit: {
      doc: 'Ticks the publisher may hold while its socket is busy; beyond it new ticks are dropped and counted.',
      format: integerIn(1, 10_000_000), default: 100_000,
    },
    subscriberWaitMs: {
      doc: 'At start, how long the feed waits for the first downstream subscription before publishing anyway (avoids losing the first ticks of an epoch).',
      format: integerIn(0, 60_000), default: 1000,
    },
    staleAfterMs: { doc: 'A venue that is up turns `stale` on status.<venue> after this long without a tick.', format: integerIn(100, 3_600_000), default: 5000 },
    statusRepeatMs: { doc: 'Every venue status is published again this often, so late subscribers learn it.', format: integerIn(100, 3_600_000), default: 5000 },
    bookSnapshotIntervalMs: {
      doc: 'Every source of books publishes each of its books as a snapshot again this often, spread over the interval, so that a late joiner or a snapshot service that joined mid-stream gets the whole book; 0 = never.',
      format: integerIn(0, 86_400_000), default: 30_000,
    },
    restart: {
      minDelayMs: { doc: 'First delay before a crashed or stalled feed adapter is restarted; doubles while restarts keep failing.', format: integerIn(1, 600_000), default: 500 },
      maxDelayMs: { doc: 'Longest delay between restarts of a failing adapter (a run longer than this resets the backoff).', format: integerIn(1, 3_600_000), default: 30_000 },
      stallMs: {
        doc: 'An adapter connected upstream that sends no tick for this long is restarted; 0 disables (raise it for quiet instruments).',
        format: integerIn(0, 86_400_000), default: 60_000,
      },
    },
    reconnect: {
      minDelayMs: { doc: 'First delay before an exchange adapter reconnects after losing its connection (with jitter, doubling).', format: integerIn(1, 600_000), default: 500 },
      maxDelayMs: { doc: 'Longest delay between reconnect attempts of an exchange adapter.', format: integerIn(1, 3_600_000), default: 30_000 },
      maxMessageBytes: {
        doc: 'Largest upstream WebSocket message an exchange adapter accepts; a larger one drops the connection. Coinbase\'s level2_batch snapshot of a busy product is the whole book, several MiB.',
        format: integerIn(1024, 256 * 1024 ** 2), default: 16 * 1024 ** 2,
      },
    },
    simulated: {
      enabled: { doc: 'Run the simulated feed.', format: BOOLEAN, default: true },
      rate: { doc: 'Total ticks per second over all simulated instruments (each with its book record and, when it trades, a trade).', format: integerIn(1, 1_000_000), default: 2000 },
      seed: {
        doc: 'Seed of the random walk; the same seed gives the same ticks. null: a new seed each run.',
        format: integerIn(0, 0xffff_ffff, { nullable: true }), nullable: true, default: null,
      },
      instruments: {
        doc: 'Instruments to simulate: [{"venue","symbol","tickSize","startPrice","lotSize"}]; [] = the built-in list of 50 across venues SIM and SIMEQ.',
        format: checkedFormat('JSON array of instruments', instrumentsProblem, jsonFromString),
        default: [],
      },
      bookDepth: {
        doc: 'Price levels per side of each simulated order book on book.<venue>.<symbol> (its best levels are the tick\'s bid and ask); 0 publishes no books.',
        format: integerIn(0, 1000), default: 50,
      },
      trades: { doc: 'Publish each simulated trade on trade.<venue>.<symbol>.', format: BOOLEAN, default: true },
    },
    coinbase: {
      enabled: { doc: 'Run the Coinbase Exchange adapter (channels ticker, heartbeat, level2_batch and matches). Off by default: it needs the internet.', format: BOOLEAN, default: false },
      url: { doc: 'Coinbase Exchange WebSocket feed.', format: WS_URL, default: 'wss://ws-feed.exchange.coinbase.com' },
      venue: { doc: 'Venue of the Coinbase topics: tick.<venue>.<product id>.', format: VENUE, default: 'COINBASE' },
      productIds: { doc: 'Coinbase products to subscribe, comma-separated.', format: INSTRUMENT_NAMES, default: ['BTC-USD', 'ETH-USD'] },
      bookDepth: {
        doc: 'Price levels per side published of each Coinbase book on book.<venue>.<product id> (the best of the whole book level2_batch keeps).',
        format: integerIn(10, 5000), default: 1000,
      },
    },
    binance: {
      enabled: { doc: 'Run the Binance adapter (streams <symbol>@bookTicker, <symbol>@trade and <symbol>@depth@100ms). Off by default: it needs the internet.', format: BOOLEAN, default: false },
      url: { doc: 'Binance WebSocket base URL; the adapter appends /stream?streams=...', format: WS_URL, default: 'wss://stream.binance.com:9443' },
      venue: { doc: 'Venue of the Binance topics: tick.<venue>.<SYMBOL>.', format: VENUE, default: 'BINANCE' },
      symbols: { doc: 'Binance symbols to subscribe, comma-separated (case does not matter).', format: INSTRUMENT_NAMES, default: ['btcusdt', 'ethusdt'] },
      plannedReconnectMs: {
        doc: 'Binance cuts connections after 24 h; the adapter opens a replacement this long after connecting and switches over without a gap.',
        format: integerIn(1000, 86_400_000), default: 23 * 3_600_000,
      },
      restUrl: { doc: 'Binance REST base URL, for the depth snapshot GET /api/v3/depth that each book is synced from.', format: HTTP_URL, default: 'https://api.binance.com' },
      depthLimit: {
        doc: 'Levels per side of the REST depth snapshot, and so of each book on book.<venue>.<SYMBOL> (levels beyond it are unknown to the adapter).',
        format: BINANCE_DEPTH_LIMIT, default: 1000,
      },
      snapshotTimeoutMs: { doc: 'A REST depth snapshot not received in full after this long is given up and requested again (with backoff).', format: integerIn(100, 600_000), default: 10_000 },
      maxBufferedEvents: {
        doc: 'Diff depth events buffered per symbol while its REST snapshot is awaited; one more starts the sync over.',
        format: integerIn(10, 1_000_000), default: 2000,
      },
    },
    replay: {
      file: { doc: 'Replay this file (NDJSON from `tickfan record`, or CSV when it ends in .csv); "" disables replay.', format: String, default: '' },
      speed: { doc: 'Replay pace relative to the recording (2 = twice as fast); 0 = as fast as possible.', format: SPEED, default: 1 },
      loop: { doc: 'Start the replay over at the end of the file.', format: BOOLEAN, default: false },
    },
    ingest: {
      enabled: { doc: 'Bind the ZeroMQ ingest edge, where other programs PUSH [topic, JSON record] (see docs/feeds.md).', format: BOOLEAN, default: true },
      endpoint: { doc: 'Where the ingest PULL socket binds.', format: ZMQ_ENDPOINT, default: 'tcp://127.0.0.1:5554' },
      subEndpoint: {
        doc: 'Where a SUB socket (subscribed to everything) binds for programs that publish with PUB instead of PUSH; "" for none.',
        format: ZMQ_ENDPOINT_OR_NONE, default: '',
      },
      maxRecordBytes: { doc: 'Largest pushed record; a larger one is refused and counted.', format: integerIn(64, 16 * 1024 ** 2), default: 64 * 1024 },
      receiveHwm: { doc: `Receive high-water mark of the ingest sockets, ${HWM_DOC}.`, format: integerIn(1, 10_000_000), default: 100_000 },
    },
  },
};

/** Why the feeds' settings cannot work together, or undefined. */
export function feedsSettingsProblem({ feeds }: { readonly feeds: FeedsSettings }): string | undefined {
  if (feeds.coinbase.enabled && feeds.binance.enabled && feeds.coinbase.venue === feeds.binance.venue) {
    return `feeds.coinbase.venue and feeds.binance.venue are both ${feeds.coinbase.venue}: two sources cannot own one venue's topics`;
  }
  return undefined;
}

/** Why a feed role with these settings would have nothing to publish, or undefined when some feed is on. */
export function noFeedProblem({ feeds }: { readonly feeds: FeedsSettings }): string | undefined {
  const anyFeed = feeds.simulated.enabled || feeds.coinbase.enabled || feeds.binance.enabled || feeds.replay.file !== '' || feeds.ingest.enabled;
  if (anyFeed) return undefined;
  return 'no feed is enabled: set feeds.simulated.enabled (or feeds.coinbase.enabled, feeds.binance.enabled, feeds.replay.file, feeds.ingest.enabled)';
}
