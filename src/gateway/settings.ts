import type convict from 'convict';
import { checkedFormat, integerIn, splitList } from '../config/index.js';
import { CloseCode } from '../wire/index.js';
import { originOf } from './admission.js';
import { AUTH_MODES, readJwks, verificationKey, type AuthMode } from './auth.js';

export interface GatewaySettings {
  readonly host: string;
  readonly port: number;
  readonly heartbeatMs: number;
  readonly pingIntervalMs: number;
  readonly maxConnections: number;
  readonly maxSubscriptions: number;
  readonly subscribeOpsPerSecond: number;
  readonly bufferedHighWaterBytes: number;
  readonly maxQueuedEvents: number;
  readonly historyPerTopic: number;
  readonly replayConcurrency: number;
  readonly maxQueuedReplays: number;
  readonly flushIntervalMs: number;
  readonly upstreamLingerMs: number;
  readonly drainMs: number;
  readonly publicBaseUrl: string;
  readonly allowedOrigins: readonly string[];
  readonly maxConnectionsPerAddress: number;
  readonly upgradesPerSecondPerAddress: number;
  readonly headersTimeoutMs: number;
  readonly auth: { readonly mode: AuthMode; readonly key: string; readonly jwksFile: string };
  readonly tls: { readonly certFile: string; readonly keyFile: string };
}

const PUBLIC_BASE_URL = 'empty, or an http(s) URL or absolute path ending in /';

function publicBaseUrlProblem(value: unknown): string | undefined {
  const ok = value === '' || (typeof value === 'string' && value.endsWith('/') && (/^\/(?!\/)/.test(value) || URL.canParse(value) && /^https?:$/.test(new URL(value).protocol)));
  return ok ? undefined : `must be ${PUBLIC_BASE_URL}`;
}

const ORIGIN_LIST = 'list of origins scheme://host[:port]';

function originListProblem(value: unknown): string | undefined {
  if (!Array.isArray(value)) return `must be a ${ORIGIN_LIST}`;
  const bad = value.find((item) => typeof item !== 'string' || originOf(item) === undefined);
  return bad === undefined ? undefined : `must be a ${ORIGIN_LIST} as a browser sends it in its Origin header (http or https, no path, no default port, e.g. https://example.com), and ${JSON.stringify(bad)} is not one`;
}

/** The WebSocket gateway's keys of the configuration (gateway.*). */
export const gatewaySchema: convict.Schema<{ gateway: GatewaySettings }> = {
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
      doc: `Events queued for a client that is behind; beyond it the client is conflated (newest per topic) or, with conflate:false, closed with ${CloseCode.SLOW_CONSUMER}.`,
      format: integerIn(1, 10_000_000), default: 10_000,
    },
    historyPerTopic: {
      // 64, not 256: with 1,000 busy topics 256 holds about 150 MB more, and at 100 clients the
      // fan-out bench sustained 2.25M events/s with it against 3.0M with 64 (docs/performance.md).
      doc: 'Ticks per topic the gateway keeps to answer `since` resumes from memory; for a client further behind it asks the snapshot service (REPLAY), and sends a fresh snapshot only when that cannot answer.',
      format: integerIn(1, 100_000), default: 64,
    },
    replayConcurrency: {
      doc: 'REPLAY requests (for `since` resumes beyond the gateway\'s history) in flight at most, each on its own connection to the snapshot service.',
      format: integerIn(1, 64), default: 4,
    },
    maxQueuedReplays: {
      doc: 'REPLAY requests waiting at most (resumes of the same topic share one); a resume beyond it gets a fresh snapshot. 0: never ask REPLAY, resume from the gateway\'s history or with a snapshot.',
      format: integerIn(0, 1_000_000), default: 10_000,
    },
    flushIntervalMs: {
      doc: 'Least time between two flushes of queued events to clients; 0: every event-loop turn. Under load flushes are spaced further by their own cost, so frames grow instead of the write count.',
      format: integerIn(0, 1000), default: 0,
    },
    upstreamLingerMs: {
      doc: 'How long the gateway keeps following a prefix after its last client left, so a client that reconnects within it resumes from history instead of a snapshot.',
      format: integerIn(0, 3_600_000), default: 30_000,
    },
    drainMs: {
      doc: `On SIGTERM (a deploy) the gateway drains: /readyz answers 503 at once and new upgrades are refused, then its clients are closed with ${CloseCode.SERVICE_RESTART} spread evenly over this window, so they do not all reconnect in the same instant; the process exits when the last one is gone or the window ends. 0: close every client at once. SIGINT stops at once (${CloseCode.GOING_AWAY}).`,
      format: integerIn(0, 120_000), default: 5000,
    },
    publicBaseUrl: {
      doc: 'Where browsers reach the gateway when a reverse proxy puts it under a path the ticker page cannot infer (e.g. https://example.com/market/ or /market/): the page loads its files and opens v1/ws relative to it. Empty: relative to the page\'s own address, which is right for a proxy prefix that ends in /.',
      format: checkedFormat(PUBLIC_BASE_URL, publicBaseUrlProblem, (value) => value.trim()),
      default: '',
    },
    allowedOrigins: {
      doc: 'Browser origins whose pages may open WebSocket connections (e.g. https://example.com,https://ops.example.com); an upgrade with another Origin header is refused with HTTP 403, so another site\'s page cannot use a visitor\'s token or network position. Requests without Origin (programs, not browsers) pass. Empty: any origin.',
      format: checkedFormat(ORIGIN_LIST, originListProblem, (value) => (value.trim() === '' ? [] : splitList(value))),
      default: [],
    },
    maxConnectionsPerAddress: {
      doc: 'Connections per remote address at most; further upgrades from it get HTTP 429 (Retry-After). It keeps one host from taking every slot of gateway.maxConnections. Behind a reverse proxy every client has the proxy\'s address: raise it there, or limit at the proxy.',
      format: integerIn(1, 1_000_000), default: 2000,
    },
    upgradesPerSecondPerAddress: {
      doc: 'Upgrade attempts per remote address per second at most; beyond it HTTP 429 (Retry-After: 1). It bounds what a reconnect storm or a flood from one host costs (TLS handshakes, token checks, snapshots on subscribe).',
      format: integerIn(1, 1_000_000), default: 2000,
    },
    headersTimeoutMs: {
      doc: 'Time a client has to send its complete HTTP request headers (page or upgrade) from connecting; a slower one (slowloris, trickling bytes to hold a socket) is disconnected.',
      format: integerIn(100, 600_000), default: 10_000,
    },
    auth: {
      mode: {
        doc: 'Client authentication (PROTOCOL.md section 5): none, or a JWT in `Authorization: Bearer T` or `?token=T` signed with HS256, RS256 or ES256 (jwks: RS256 or ES256 by any key of gateway.auth.jwksFile, chosen by the token\'s kid) whose `topics` claim lists the entitled patterns.',
        format: [...AUTH_MODES], default: 'none',
      },
      key: {
        doc: 'Verification key of gateway.auth.mode: the shared secret for hs256, a PEM public key for rs256 and es256. Required unless the mode is none.',
        format: String, default: '', sensitive: true,
      },
      jwksFile: {
        doc: 'With gateway.auth.mode jwks: a JWKS file (RFC 7517) of RSA and EC public keys, each with a kid. Looked at every second and re-read when it changed, so a key is added or rotated out without a restart; a changed file that is invalid is ignored (counted) and the keys in use stay.',
        format: String, default: '',
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
};

/** Why the gateway's settings cannot work together (TLS files, authentication key), or undefined. */
export function gatewaySettingsProblem({ gateway }: { readonly gateway: GatewaySettings }): string | undefined {
  const { tls, auth } = gateway;
  if ((tls.certFile === '') !== (tls.keyFile === '')) {
    return 'gateway.tls.certFile and gateway.tls.keyFile go together: set both for wss, or neither';
  }
  if (auth.mode === 'none') return undefined;
  try {
    if (auth.mode === 'jwks') readJwks(auth.jwksFile);
    else verificationKey(auth.mode, auth.key);
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}
