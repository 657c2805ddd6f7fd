import convict from 'convict';
import { LOG_LEVELS, type LogLevel } from '../log/index.js';
import { BOOLEAN, checkedFormat, integerIn, isZmqEndpoint, jsonFromString, ZMQ_ENDPOINT } from './formats.js';
import type { Instrument } from '../feeds/simulated/index.js';
import { instrumentsProblem } from './instruments.js';
import { isSegment } from '../wire/topic.js';

/** Roles `tickfan start` can run, in start-up order (each needs the ones before it to be reachable). */
export const ROLES = ['proxy', 'snapshot', 'gateway', 'feed'] as const;
export type Role = (typeof ROLES)[number];

export interface TickfanConfig {
  log: { level: LogLevel };
  roles: Role[];
  zmq: { lingerMs: number };
  metrics: { enabled: boolean; host: string; port: number };
  proxy: { frontend: string; backend: string; frontendHwm: number; backendHwm: number; mode: 'native' | 'js' };
  connect: { frontend: string; backend: string; snapshot: string[]; snapshotTimeoutMs: number };
  snapshot: {
    endpoint: string;
    prefixes: string[];
    historyPerTopic: number;
    historyMaxBytes: number;
    maxTopics: number;
    maxRecords: number;
    sendHwm: number;
    persistFile: string;
    persistIntervalMs: number;
  };
  subscriber: { receiveHwm: number };
  gateway: {
    host: string;
    port: number;
    heartbeatMs: number;
    pingIntervalMs: number;
    maxConnections: number;
    maxSubscriptions: number;
    subscribeOpsPerSecond: number;
    bufferedHighWaterBytes: number;
    maxQueuedEvents: number;
    historyPerTopic: number;
    upstreamLingerMs: number;
    flushIntervalMs: number;
    publicBaseUrl: string;
    auth: { mode: 'none' | 'hs256' | 'rs256' | 'es256'; key: string };
    tls: { certFile: string; keyFile: string };
  };
  feeds: {
    sendHwm: number;
    queueLimit: number;
    subscriberWaitMs: number;
    staleAfterMs: number;
    statusRepeatMs: number;
    restart: { minDelayMs: number; maxDelayMs: number; stallMs: number };
    reconnect: { minDelayMs: number; maxDelayMs: number; maxMessageBytes: number };
    simulated: { enabled: boolean; rate: number; seed: number | null; instruments: Instrument[] };
    coinbase: { enabled: boolean; url: string; venue: string; productIds: string[] };
    binance: { enabled: boolean; url: string; venue: string; symbols: string[]; plannedReconnectMs: number };
    replay: { file: string; speed: number; loop: boolean };
    ingest: { enabled: boolean; endpoint: string; subEndpoint: string; maxRecordBytes: number; receiveHwm: number };
  };
}

function rolesProblem(value: unknown): string | undefined {
  const ok = Array.isArray(value) && value.length > 0 && value.every((r) => (ROLES as readonly unknown[]).includes(r))
    && new Set(value).size === value.length;
  return ok ? undefined : `must be a non-empty list of distinct roles from: ${ROLES.join(', ')}`;
}

function splitList(value: string): string[] {
  return value.split(',').map((item) => item.trim());
}

function endpointListProblem(value: unknown): string | undefined {
  const ok = Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && isZmqEndpoint(v));
  return ok ? undefined : 'must be a non-empty list of ZeroMQ endpoints';
}

function prefixListProblem(value: unknown): string | undefined {
  const ok = Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && /^[A-Za-z0-9_\-/:+=^.]{0,200}$/.test(v));
  return ok ? undefined : 'must be a non-empty list of topic prefixes (topic characters and dots, at most 200 bytes; "" for everything)';
}

const PUBLIC_BASE_URL = 'empty, or an http(s) URL or absolute path ending in /';

function publicBaseUrlProblem(value: unknown): string | undefined {
  const ok = value === '' || (typeof value === 'string' && value.endsWith('/') && (/^\/(?!\/)/.test(value) || URL.canParse(value) && /^https?:$/.test(new URL(value).protocol)));
  return ok ? undefined : `must be ${PUBLIC_BASE_URL}`;
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

const HWM_DOC = 'messages; ZeroMQ drops beyond it (0, unlimited, is not allowed: every queue is bounded)';

export const schema: convict.Schema<TickfanConfig> = {
  log: {
    level: { doc: 'Log level of the JSON lines on stderr.', format: [...LOG_LEVELS], default: 'info' },
  },
  roles: {
    doc: `Roles \`tickfan start\` runs in this process, comma-separated: ${ROLES.join(', ')}. --roles overrides.`,
    format: checkedFormat(`list of: ${ROLES.join(', ')}`, rolesProblem, (value) => value.split(',').map((r) => r.trim())),
    default: [...ROLES],
  },
  zmq: {
    lingerMs: {
      doc: 'How long a closing socket may keep trying to deliver queued messages; bounds shutdown time.',
      format: integerIn(0, 1500), default: 200,
    },
  },
  metrics: {
    enabled: {
      doc: '`tickfan start` serves /metrics, /healthz and /readyz (PROTOCOL.md section 6) and the gateway samples tick latency; false turns both off.',
      format: BOOLEAN, default: true,
    },
    host: { doc: 'Address the metrics endpoint listens on (0.0.0.0 for every interface).', format: String, default: '127.0.0.1' },
    port: { doc: 'Port of /metrics, /healthz and /readyz; 0 picks a free port. A port in use is a start-up error.', format: integerIn(0, 65535), default: 9464 },
  },
  proxy: {
    frontend: { doc: 'Where the proxy binds its XSUB frontend; feeds connect here.', format: ZMQ_ENDPOINT, default: 'tcp://127.0.0.1:5555' },
    backend: { doc: 'Where the proxy binds its XPUB backend; subscribers connect here.', format: ZMQ_ENDPOINT, default: 'tcp://127.0.0.1:5556' },
    frontendHwm: { doc: `Receive high-water mark of the frontend, ${HWM_DOC}.`, format: integerIn(1, 10_000_000), default: 200_000 },
    backendHwm: { doc: `Send high-water mark per subscriber on the backend, ${HWM_DOC}.`, format: integerIn(1, 10_000_000), default: 200_000 },
    mode: {
      doc: 'native: libzmq forwards on a worker thread (fastest); js: a JavaScript loop that counts messages. See docs/architecture.md.',
      format: ['native', 'js'], default: 'native',
    },
  },
  connect: {
    frontend: { doc: "The proxy frontend that feeds connect to (the proxy's address as seen from this host).", format: ZMQ_ENDPOINT, default: 'tcp://127.0.0.1:5555' },
    backend: { doc: 'The proxy backend that subscribers (tail, snapshot, ...) connect to.', format: ZMQ_ENDPOINT, default: 'tcp://127.0.0.1:5556' },
    snapshot: {
      doc: 'Snapshot services that clients ask, comma-separated, in failover order.',
      format: checkedFormat(`list of ${ZMQ_ENDPOINT}`, endpointListProblem, splitList),
      default: ['tcp://127.0.0.1:5557'],
    },
    snapshotTimeoutMs: {
      doc: 'How long a client waits for a snapshot service to answer before it tries the next one.',
      format: integerIn(50, 60_000), default: 2000,
    },
  },
  snapshot: {
    endpoint: { doc: 'Where the snapshot service binds its ROUTER.', format: ZMQ_ENDPOINT, default: 'tcp://127.0.0.1:5557' },
    prefixes: {
      doc: 'Topic prefixes the snapshot service holds, comma-separated; "" holds everything.',
      format: checkedFormat('list of topic prefixes', prefixListProblem, splitList),
      default: [''],
    },
    historyPerTopic: { doc: 'Messages of history kept per topic for REPLAY.', format: integerIn(1, 1_000_000), default: 1000 },
    historyMaxBytes: {
      doc: 'Memory cap of all history; when reached, every topic keeps an equal smaller share (at least its current state).',
      format: integerIn(1024, 64 * 1024 ** 3), default: 256 * 1024 ** 2,
    },
    maxTopics: { doc: 'Topics held at most; messages of further topics are refused and counted.', format: integerIn(1, 10_000_000), default: 1_000_000 },
    maxRecords: { doc: 'Records one SNAPSHOT reply may carry; beyond it the reply is ERR TOO_LARGE.', format: integerIn(1, 10_000_000), default: 100_000 },
    sendHwm: {
      doc: 'Replies queued per client of the ROUTER; a reply can be a whole snapshot, so keep it small. Beyond it replies to that client are dropped (it times out and retries).',
      format: integerIn(1, 10_000), default: 16,
    },
    persistFile: {
      doc: 'Where the last-value cache is saved (periodically and on shutdown) and reloaded from at start; "" disables.',
      format: String, default: 'var/snapshot.ndjson',
    },
    persistIntervalMs: { doc: 'How often the last-value cache is saved when it changed.', format: integerIn(100, 3_600_000), default: 5000 },
  },
  subscriber: {
    receiveHwm: { doc: `Receive high-water mark of subscribing sockets, ${HWM_DOC}.`, format: integerIn(1, 10_000_000), default: 200_000 },
  },
  gateway: {
    host: { doc: 'Address the WebSocket gateway listens on (0.0.0.0 for every interface).', format: String, default: '127.0.0.1' },
    port: { doc: 'Port of the WebSocket gateway (path /v1/ws); 0 picks a free port.', format: integerIn(0, 65535), default: 8080 },
    heartbeatMs: { doc: 'A heartbeat event goes to a client after this long without any other frame.', format: integerIn(100, 600_000), default: 5000 },
    pingIntervalMs: { doc: 'WebSocket ping interval; a client that did not answer the previous ping is terminated.', format: integerIn(100, 600_000), default: 15_000 },
    maxConnections: { doc: 'Connections at most; further upgrades are refused with HTTP 503.', format: integerIn(1, 1_000_000), default: 10_000 },
    maxSubscriptions: { doc: 'Subscription patterns per connection at most (TOO_MANY_SUBSCRIPTIONS beyond).', format: integerIn(1, 100_000), default: 1000 },
    subscribeOpsPerSecond: { doc: 'Subscribe requests per connection per second at most (RATE_LIMITED beyond).', format: integerIn(1, 100_000), default: 50 },
    bufferedHighWaterBytes: {
      doc: 'Bytes a client socket may hold unsent before the client counts as behind and frames wait. It bounds the gateway\'s memory per slow client, and what a slow client reads late before conflation gives it the newest state.',
      format: integerIn(1024, 1024 ** 3), default: 256 * 1024,
    },
    maxQueuedEvents: {
      doc: 'Events queued for a client that is behind; beyond it the client is conflated (newest per topic) or, with conflate:false, closed with 4008.',
      format: integerIn(1, 10_000_000), default: 10_000,
    },
    historyPerTopic: {
      // 64, not 256: with 1,000 busy topics 256 holds about 150 MB more, and at 100 clients the
      // fan-out bench sustained 2.25M events/s with it against 3.0M with 64 (docs/performance.md).
      doc: 'Ticks per topic the gateway keeps to answer `since` resumes from memory; a client further behind gets a fresh snapshot.',
      format: integerIn(1, 100_000), default: 64,
    },
    flushIntervalMs: {
      doc: 'Least time between two flushes of queued events to clients; 0: every event-loop turn. Under load flushes are spaced further by their own cost, so frames grow instead of the write count.',
      format: integerIn(0, 1000), default: 0,
    },
    upstreamLingerMs: {
      doc: 'How long the gateway keeps following a prefix after its last client left, so a client that reconnects within it resumes from history instead of a snapshot.',
      format: integerIn(0, 3_600_000), default: 30_000,
    },
    publicBaseUrl: {
      doc: 'Where browsers reach the gateway when a reverse proxy puts it under a path the ticker page cannot infer (e.g. https://example.com/market/ or /market/): the page loads its files and opens v1/ws relative to it. Empty: relative to the page\'s own address, which is right for a proxy prefix that ends in /.',
      format: checkedFormat(PUBLIC_BASE_URL, publicBaseUrlProblem, (value) => value.trim()),
      default: '',
    },
    auth: {
      mode: {
        doc: 'Client authentication (PROTOCOL.md section 5): none, or a JWT in `Authorization: Bearer T` or `?token=T` signed with HS256, RS256 or ES256 whose `topics` claim lists the entitled patterns.',
        format: ['none', 'hs256', 'rs256', 'es256'], default: 'none',
      },
      key: {
        doc: 'Verification key of gateway.auth.mode: the shared secret for hs256, a PEM public key for rs256 and es256. Required unless the mode is none.',
        format: String, default: '', sensitive: true,
      },
    },
    tls: {
      certFile: {
        doc: 'PEM certificate (chain) file: with gateway.tls.keyFile the gateway serves wss:// (TLS) instead of ws://. "" = plain ws.',
        format: String, default: '',
      },
      keyFile: { doc: 'PEM private key file of gateway.tls.certFile.', format: String, default: '' },
    },
  },
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
      maxMessageBytes: { doc: 'Largest upstream WebSocket message an exchange adapter accepts; a larger one drops the connection.', format: integerIn(1024, 256 * 1024 ** 2), default: 1024 ** 2 },
    },
    simulated: {
      enabled: { doc: 'Run the simulated feed.', format: BOOLEAN, default: true },
      rate: { doc: 'Total ticks per second over all simulated instruments.', format: integerIn(1, 1_000_000), default: 2000 },
      seed: {
        doc: 'Seed of the random walk; the same seed gives the same ticks. null: a new seed each run.',
        format: integerIn(0, 0xffff_ffff, { nullable: true }), nullable: true, default: null,
      },
      instruments: {
        doc: 'Instruments to simulate: [{"venue","symbol","tickSize","startPrice","lotSize"}]; [] = the built-in list of 50 across venues SIM and SIMEQ.',
        format: checkedFormat('JSON array of instruments', instrumentsProblem, jsonFromString),
        default: [],
      },
    },
    coinbase: {
      enabled: { doc: 'Run the Coinbase Exchange adapter (channels ticker and heartbeat). Off by default: it needs the internet.', format: BOOLEAN, default: false },
      url: { doc: 'Coinbase Exchange WebSocket feed.', format: WS_URL, default: 'wss://ws-feed.exchange.coinbase.com' },
      venue: { doc: 'Venue of the Coinbase topics: tick.<venue>.<product id>.', format: VENUE, default: 'COINBASE' },
      productIds: { doc: 'Coinbase products to subscribe, comma-separated.', format: INSTRUMENT_NAMES, default: ['BTC-USD', 'ETH-USD'] },
    },
    binance: {
      enabled: { doc: 'Run the Binance adapter (streams <symbol>@bookTicker and <symbol>@aggTrade). Off by default: it needs the internet.', format: BOOLEAN, default: false },
      url: { doc: 'Binance WebSocket base URL; the adapter appends /stream?streams=...', format: WS_URL, default: 'wss://stream.binance.com:9443' },
      venue: { doc: 'Venue of the Binance topics: tick.<venue>.<SYMBOL>.', format: VENUE, default: 'BINANCE' },
      symbols: { doc: 'Binance symbols to subscribe, comma-separated (case does not matter).', format: INSTRUMENT_NAMES, default: ['btcusdt', 'ethusdt'] },
      plannedReconnectMs: {
        doc: 'Binance cuts connections after 24 h; the adapter opens a replacement this long after connecting and switches over without a gap.',
        format: integerIn(1000, 86_400_000), default: 23 * 3_600_000,
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
