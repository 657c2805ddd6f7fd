import type convict from 'convict';
import { LOG_LEVELS, type LogLevel } from '../log/index.js';
import { TCP_KEEPALIVE } from '../util/keepalive.js';
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

/** zeromq.js options of the sockets that carry data (proxy, publisher, subscribers), as zmqSocketOptions fills them. */
export interface ZmqSocketOptions {
  readonly linger: number;
  readonly tcpKeepalive: number;
  readonly tcpKeepaliveIdle: number;
  readonly tcpKeepaliveInterval: number;
  readonly tcpKeepaliveCount: number;
}

export function zmqSocketOptions(zmq: Pick<ZmqSettings, 'lingerMs'>): ZmqSocketOptions {
  return { linger: zmq.lingerMs, ...TCP_KEEPALIVE };
}

export interface MetricsSettings {
  readonly enabled: boolean;
  readonly host: string;
  readonly port: number;
}

export interface ConnectSettings {
  /** Proxy frontends, one per line: a source sends every message to each. */
  readonly frontend: readonly string[];
  /** Proxy backends, one per line: a subscriber takes each message from whichever line brings it first. */
  readonly backend: readonly string[];
  readonly snapshot: readonly string[];
  readonly snapshotTimeoutMs: number;
}

export interface SubscriberSettings {
  readonly receiveHwm: number;
  readonly arbitrationMs: number;
}

export interface SharedSettings {
  readonly log: LogSettings;
  readonly zmq: ZmqSettings;
  readonly metrics: MetricsSettings;
  readonly connect: ConnectSettings;
  readonly subscriber: SubscriberSettings;
}

/** How a subscriber of the fabric (LineSet, TickSubscriber) is set up from the shared settings. */
export function lineOptions(settings: { readonly subscriber: SubscriberSettings }): { readonly receiveHwm: number; readonly arbitrationMs: number } {
  return { receiveHwm: settings.subscriber.receiveHwm, arbitrationMs: settings.subscriber.arbitrationMs };
}

/** How every high-water mark setting explains itself. */
export const HWM_DOC = 'messages; ZeroMQ drops beyond it (0, unlimited, is not allowed: every queue is bounded)';

function endpointListProblem(value: unknown): string | undefined {
  const ok = Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && isZmqEndpoint(v));
  return ok ? undefined : 'must be a non-empty list of ZeroMQ endpoints';
}

const ENDPOINT_LIST = checkedFormat(`list of ${ZMQ_ENDPOINT}`, endpointListProblem, splitList);

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
      doc: 'Interval of the ZMTP heartbeats (ZMQ_HEARTBEAT_IVL) by which the gateway and the snapshot service watch each line to the fabric (a probe connection per proxy backend that carries no data).',
      format: integerIn(100, 60_000), default: 1000,
    },
    heartbeatTimeoutMs: {
      doc: 'A line whose proxy answered nothing, not even a heartbeat, for this long counts as down (ZMQ_HEARTBEAT_TIMEOUT): stopped, partitioned or gone.',
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
    frontend: {
      doc: "The proxy frontends that feeds connect to (the proxies' addresses as seen from this host), comma-separated: one per line of a redundant fabric (A/B); every message goes to each.",
      format: ENDPOINT_LIST, default: ['tcp://127.0.0.1:5555'],
    },
    backend: {
      doc: 'The proxy backends that subscribers (gateway, snapshot, tail, ...) connect to, comma-separated: one per line; each message is taken from the line that brings it first.',
      format: ENDPOINT_LIST, default: ['tcp://127.0.0.1:5556'],
    },
    snapshot: {
      doc: 'Snapshot services that clients ask, comma-separated, in failover order.',
      format: ENDPOINT_LIST, default: ['tcp://127.0.0.1:5557'],
    },
    snapshotTimeoutMs: {
      doc: 'How long a client waits for a snapshot service to answer before it tries the next one.',
      format: integerIn(50, 60_000), default: 2000,
    },
  },
  subscriber: {
    receiveHwm: { doc: `Receive high-water mark of subscribing sockets, ${HWM_DOC}.`, format: integerIn(1, 10_000_000), default: 200_000 },
    arbitrationMs: {
      doc: 'With several backends (A/B lines): how long a topic whose seq jumped on one line waits for another line to bring what is missing before it is repaired as a gap; what came after the hole waits with it, so order holds. 0: no wait.',
      format: integerIn(0, 10_000), default: 10,
    },
  },
};
