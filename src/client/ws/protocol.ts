/**
 * The WebSocket wire contract of PROTOCOL.md section 5, as TypeScript types: the requests
 * this client sends and the events the gateway sends back (always inside a JSON array).
 *
 * Type-only imports keep this module free of runtime dependencies: it is shared by the
 * Node and the browser build of the client.
 */
import type { StatusRecord, TickRecord } from '../../wire/record.js';

export type { StatusRecord, TickRecord };

/** A request id, echoed back by the server. This client uses increasing integers. */
export type RequestId = number | string;

/** Where a topic stands in its source's sequence: what `since` resumes from. */
export interface Position {
  readonly epoch: number;
  readonly seq: number;
}

export interface SubscribeRequest {
  readonly op: 'subscribe';
  readonly id: RequestId;
  readonly topics: readonly string[];
  readonly snapshot: boolean;
  readonly conflate: boolean;
  readonly since?: Readonly<Record<string, Position>>;
}

export interface UnsubscribeRequest {
  readonly op: 'unsubscribe';
  readonly id: RequestId;
  readonly topics: readonly string[];
}

export interface ListRequest {
  readonly op: 'list';
  readonly id: RequestId;
  readonly prefix: string;
}

export interface PingRequest {
  readonly op: 'ping';
  readonly id: RequestId;
}

export type ClientRequest = SubscribeRequest | UnsubscribeRequest | ListRequest | PingRequest;

export interface WelcomeEvent {
  readonly type: 'welcome';
  readonly session: string;
  readonly server: string;
  readonly heartbeatMs: number;
}

export interface SubscribedEvent {
  readonly type: 'subscribed';
  readonly id?: RequestId;
  readonly topics: string[];
}

export interface UnsubscribedEvent {
  readonly type: 'unsubscribed';
  readonly id?: RequestId;
  readonly topics: string[];
}

export interface TopicsEvent {
  readonly type: 'topics';
  readonly id?: RequestId;
  readonly topics: string[];
}

export interface PongEvent {
  readonly type: 'pong';
  readonly id?: RequestId;
}

/** A `snapshot` or `tick` event: one topic's full record at (epoch, seq). */
export interface RecordEvent {
  readonly type: 'snapshot' | 'tick';
  readonly topic: string;
  readonly epoch: number;
  readonly seq: number;
  /** The source's publication time, microseconds since the Unix epoch. */
  readonly ts: number;
  readonly data: TickRecord;
}

export interface HeartbeatEvent {
  readonly type: 'heartbeat';
  readonly ts: number;
}

export interface StatusEvent {
  readonly type: 'status';
  readonly venue: string;
  readonly state: 'up' | 'stale' | 'down';
  readonly reason?: string;
  readonly ts?: number;
}

/** Error codes of PROTOCOL.md section 5. */
export type ServerErrorCode = 'BAD_REQUEST' | 'BAD_TOPIC' | 'FORBIDDEN' | 'RATE_LIMITED' | 'TOO_MANY_SUBSCRIPTIONS';

export interface ErrorEvent {
  readonly type: 'error';
  readonly id?: RequestId;
  readonly code: ServerErrorCode | string;
  readonly message: string;
}

export type ServerEvent =
  | WelcomeEvent
  | SubscribedEvent
  | UnsubscribedEvent
  | TopicsEvent
  | PongEvent
  | RecordEvent
  | HeartbeatEvent
  | StatusEvent
  | ErrorEvent;

/** The gateway's path (PROTOCOL.md section 5). */
export const WS_PATH = '/v1/ws';
/** Largest client request the gateway accepts; bigger frames close the connection with 1009. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** Patterns per request the gateway accepts. */
export const MAX_PATTERNS_PER_REQUEST = 1000;

/** Close codes of PROTOCOL.md section 5. */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  ABNORMAL: 1006,
  POLICY: 1008,
  TOO_BIG: 1009,
  UNAUTHENTICATED: 4001,
  FORBIDDEN: 4003,
  SLOW_CONSUMER: 4008,
} as const;

/** Whether `pattern` (an exact topic, or a prefix ending in `*`) matches `topic`. */
export function patternMatches(pattern: string, topic: string): boolean {
  return pattern.endsWith('*') ? topic.startsWith(pattern.slice(0, -1)) : topic === pattern;
}
