import type convict from 'convict';
import { LOG_LEVELS, type LogLevel } from '../log/index.js';
import { BOOLEAN, checkedFormat, integerIn, isZmqEndpoint, splitList, ZMQ_ENDPOINT } from './formats.js';

/**
 * The keys several roles (and the CLI's own commands) read: logging, ZeroMQ, the metrics
 * endpoint, where the fabric is, and how subscribers queue. Each role's own keys live in the
 * role (its settings.ts); the CLI composes them with these.
 */

export interface LogSettings {
  readonly level: LogLevel;
}

export interface ZmqSettings {
  readonly lingerMs: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
}

/** zeromq.js socket options, as zmqSocketOptions fills them. */
export interface ZmqSocketOptions {
  readonly linger: number;
  readonly heartbeatInterval: number;
  readonly heartbeatTimeout: number;
  readonly heartbeatTimeToLive: number;
}

/**
 * The ZMTP options every tickfan socket carries. Heartbeats make a peer that went silent
 * without closing its TCP connection (a stopped process, a partitioned host, a dead link)
 * show up as a disconnect within heartbeatTimeoutMs instead of after the kernel's TCP timeout
 * (minutes), so a subscriber can tell a dead line from a quiet market.
 */
export function zmqSocketOptions(zmq: ZmqSettings): ZmqSocketOptions {
  return {
    linger: zmq.lingerMs,
    heartbeatInterval: zmq.heartbeatIntervalMs,
    heartbeatTimeout: zmq.heartbeatTimeoutMs,
    // The peer drops the connection too when our heartbeats stop, so both ends notice.
    heartbeatTimeToLive: zmq.heartbeatTimeoutMs,
  };
}

export interface MetricsSettings {
  readonly enabled: boolean;
  readonly host: string;
  readonly port: number;
}

export interface ConnectSettings {
  readonly frontend: string;
  readonly backend: string;
  readonly snapshot: readonly string[];
  readonly snapshotTimeoutMs: number;
}

export interface SubscriberSettings {
  readonly receiveHwm: number;
}

export interface SharedSettings {
  readonly log: LogSettings;
  readonly zmq: ZmqSettings;
  readonly metrics: MetricsSettings;
  readonly connect: ConnectSettings;
  readonly subscriber: SubscriberSettings;
}

/** How every high-water mark setting explains itself. */
export const HWM_DOC = 'messages; ZeroMQ drops beyond it (0, unlimited, is not allowed: every queue is bounded)';

function endpointListProblem(value: unknown): string | undefined {
  const ok = Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && isZmqEndpoint(v));
  return ok ? undefined : 'must be a non-empty list of ZeroMQ endpoints';
}

export const sharedSchema: convict.Schema<SharedSettings> = {
  log: {
    level: { doc: 'Log level of the JSON lines on stderr.', format: [...LOG_LEVELS], default: 'info' },
  },
  zmq: {
    lingerMs: {
      doc: 'How long a closing socket may keep trying to deliver queued messages; bounds shutdown time.',
      format: integerIn(0, 1500), default: 200,
    },
    heartbeatIntervalMs: {
      doc: 'Interval of ZMTP heartbeats on every ZeroMQ connection (libzmq ZMQ_HEARTBEAT_IVL); 0 turns them off.',
      format: integerIn(0, 60_000), default: 1000,
    },
    heartbeatTimeoutMs: {
      doc: 'A connection whose peer sent nothing (not even a heartbeat) for this long is closed and counts as a dead line (ZMQ_HEARTBEAT_TIMEOUT, and the TTL asked of the peer).',
      format: integerIn(100, 600_000), default: 3000,
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
  subscriber: {
    receiveHwm: { doc: `Receive high-water mark of subscribing sockets, ${HWM_DOC}.`, format: integerIn(1, 10_000_000), default: 200_000 },
  },
};
