/**
 * The WebSocket contract of PROTOCOL.md section 5, once, for the gateway and the SDK: the
 * requests and their parser, the events, the error codes and what a client may do on each,
 * the close codes and what a client should do on each, the path and the limits.
 *
 * Browser-safe: the SDK's browser bundle includes this module, so it imports no Node module.
 */
import type { StatusRecord, TickRecord, VenueState } from './record.js';
import { topicProblem, TOPIC_CLASSES, TOPIC_MAX_BYTES } from './topic.js';

export type { StatusRecord, TickRecord };

/** The gateway's path. */
export const WS_PATH = '/v1/ws';
/** Largest client request the gateway accepts; a bigger frame closes the connection with CloseCode.TOO_BIG. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** Patterns one subscribe or unsubscribe may list. */
export const MAX_PATTERNS_PER_REQUEST = 1000;

/** A request id, echoed back by the server: any JSON number or string. */
export type RequestId = number | string;

/** Where a topic stands in its source's sequence: what `since` resumes from. */
export interface Position {
  readonly epoch: number;
  readonly seq: number;
}

// ---- client -> server ----

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

/** A new token for the live session (an extension of PROTOCOL.md section 5, docs/protocol.md): its grant replaces the old one. */
export interface RefreshRequest {
  readonly op: 'refresh';
  readonly id: RequestId;
  readonly token: string;
}

/** A request as it travels (what a client sends). */
export type ClientRequest = SubscribeRequest | UnsubscribeRequest | ListRequest | PingRequest | RefreshRequest;

/** A request as the gateway works on it: validated, defaults filled in, patterns deduplicated. */
export type ParsedRequest =
  | {
      readonly op: 'subscribe';
      readonly id: RequestId | undefined;
      readonly patterns: readonly string[];
      readonly snapshot: boolean;
      readonly conflate: boolean;
      readonly since: ReadonlyMap<string, Position>;
    }
  | { readonly op: 'unsubscribe'; readonly id: RequestId | undefined; readonly patterns: readonly string[] }
  | { readonly op: 'list'; readonly id: RequestId | undefined; readonly prefix: string }
  | { readonly op: 'ping'; readonly id: RequestId | undefined }
  | { readonly op: 'refresh'; readonly id: RequestId | undefined; readonly token: string };

export type ParsedSubscribe = Extract<ParsedRequest, { op: 'subscribe' }>;

// ---- server -> client (always inside a JSON array) ----

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

/** A refresh took: the session now runs on the new token. */
export interface RefreshedEvent {
  readonly type: 'refreshed';
  readonly id?: RequestId;
  /** The new token's `exp` (seconds since the Unix epoch); absent when it does not expire. */
  readonly exp?: number;
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
  readonly state: VenueState;
  readonly reason?: string;
  readonly ts?: number;
}

export interface ErrorEvent {
  readonly type: 'error';
  readonly id?: RequestId;
  /** One of ErrorCode from this version of the protocol; a newer server may send others. */
  readonly code: string;
  readonly message: string;
}

export type ServerEvent =
  | WelcomeEvent
  | SubscribedEvent
  | UnsubscribedEvent
  | TopicsEvent
  | PongEvent
  | RefreshedEvent
  | RecordEvent
  | HeartbeatEvent
  | StatusEvent
  | ErrorEvent;

// ---- error codes ----

export const ErrorCode = {
  /** Malformed JSON, unknown op, a bad field, a binary frame, a `list` whose answer would be too large. */
  BAD_REQUEST: 'BAD_REQUEST',
  BAD_TOPIC: 'BAD_TOPIC',
  /** Outside the client's entitlements. */
  FORBIDDEN: 'FORBIDDEN',
  RATE_LIMITED: 'RATE_LIMITED',
  TOO_MANY_SUBSCRIPTIONS: 'TOO_MANY_SUBSCRIPTIONS',
  /** Temporary: the state of a requested topic (or the topic list) could not be had just now. */
  UNAVAILABLE: 'UNAVAILABLE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
export const ERROR_CODES: readonly ErrorCode[] = Object.values(ErrorCode);

/**
 * What a client may do after each error: `never` send the same request again (it would be
 * refused again), or send it again `later`, after a backoff.
 */
export type ErrorRetry = 'never' | 'later';
export const ERROR_RETRY: Readonly<Record<ErrorCode, ErrorRetry>> = {
  BAD_REQUEST: 'never',
  BAD_TOPIC: 'never',
  FORBIDDEN: 'never',
  TOO_MANY_SUBSCRIPTIONS: 'never',
  RATE_LIMITED: 'later',
  UNAVAILABLE: 'later',
};

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_RETRY, code);
}

/** Whether the same request may succeed if sent again after a backoff. */
export function isRetryable(code: ErrorCode): boolean {
  return ERROR_RETRY[code] === 'later';
}

// ---- close codes ----

export const CloseCode = {
  NORMAL: 1000,
  /** The server is shutting down. */
  GOING_AWAY: 1001,
  /** No close frame: the connection dropped (never sent on the wire; what the socket reports). */
  ABNORMAL: 1006,
  /** Policy: abuse, rate. */
  POLICY: 1008,
  /** A request frame over MAX_REQUEST_BYTES. */
  TOO_BIG: 1009,
  /** The server is draining for a restart. */
  SERVICE_RESTART: 1012,
  /** No valid token, or the token expired. */
  UNAUTHENTICATED: 4001,
  /** A valid token that entitles nothing. */
  FORBIDDEN: 4003,
  /** Behind with conflate:false. */
  SLOW_CONSUMER: 4008,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * What a client should do when its connection closes with a code:
 * - `reconnect`: reconnect with backoff and resume with `since`;
 * - `reconnect_spread`: the same, after a random delay, so the clients of a draining server do
 *   not all come back in the same instant (to this or another node);
 * - `reauthenticate`: reconnect only with a fresh token, else stop;
 * - `stop`: do not reconnect, it would be refused again.
 * Codes not listed (other servers, proxies, later versions) reconnect.
 */
export type CloseAction = 'reconnect' | 'reconnect_spread' | 'reauthenticate' | 'stop';
const CLOSE_ACTIONS: Readonly<Partial<Record<number, CloseAction>>> = {
  [CloseCode.SERVICE_RESTART]: 'reconnect_spread',
  [CloseCode.UNAUTHENTICATED]: 'reauthenticate',
  [CloseCode.FORBIDDEN]: 'stop',
};

export function closeAction(code: number): CloseAction {
  return CLOSE_ACTIONS[code] ?? 'reconnect';
}

// ---- patterns ----

/** Whether `pattern` (an exact topic, or a prefix ending in `*`) matches `topic`. */
export function patternMatches(pattern: string, topic: string): boolean {
  return pattern.endsWith('*') ? topic.startsWith(pattern.slice(0, -1)) : topic === pattern;
}

/** Why a subscription pattern is invalid: an exact topic, or a prefix ending in `*` (`*` alone is everything). */
export function patternProblem(pattern: string): string | undefined {
  if (pattern === '*') return undefined;
  if (pattern.endsWith('*')) {
    const prefix = pattern.slice(0, -1);
    // A prefix of some valid topic: of a class name, or one that the shortest completion makes a topic
    // (so `tick..*`, `foo.*` or `status.SIM.*`, which could never match anything, are refused).
    const ofClass = TOPIC_CLASSES.some((kind) => `${kind}.`.startsWith(prefix));
    if (!ofClass && !PREFIX_COMPLETIONS.some((rest) => topicProblem(prefix + rest) === undefined)) {
      return `pattern ${JSON.stringify(pattern)} is not a topic prefix followed by *: no valid topic starts with ${JSON.stringify(prefix)}`;
    }
    return undefined;
  }
  return topicProblem(pattern);
}

/** The shortest endings that can turn a prefix into a topic: itself, the rest of a segment, another segment. */
const PREFIX_COMPLETIONS = ['', 'X', '.X', 'X.X'];

// ---- the request parser ----

/** A refused request: the error event's code and message, and the id to echo when one was readable. */
export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly id: RequestId | undefined,
  ) {
    super(message);
  }
}

const OPS = ['subscribe', 'unsubscribe', 'list', 'ping', 'refresh'];

type Fail = (message: string, code?: ErrorCode) => never;

/** Parses one text frame; throws RequestError naming what is wrong. */
export function parseRequest(text: string): ParsedRequest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new RequestError(ErrorCode.BAD_REQUEST, `malformed JSON: ${(err as Error).message}`, undefined);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RequestError(ErrorCode.BAD_REQUEST, 'a request must be a JSON object', undefined);
  }
  const request = value as Record<string, unknown>;
  const id = readId(request.id);
  const fail: Fail = (message, code = ErrorCode.BAD_REQUEST) => {
    throw new RequestError(code, message, id);
  };
  if (typeof request.op !== 'string' || !OPS.includes(request.op)) {
    fail(`unknown op ${JSON.stringify(request.op)}: expected ${OPS.join(', ')}`);
  }
  switch (request.op) {
    case 'ping':
      return { op: 'ping', id };
    case 'list': {
      const prefix = request.prefix === undefined ? '' : request.prefix;
      if (typeof prefix !== 'string' || prefix.length > TOPIC_MAX_BYTES) fail(`prefix must be a string of at most ${TOPIC_MAX_BYTES} characters`);
      return { op: 'list', id, prefix: prefix as string };
    }
    case 'unsubscribe':
      return { op: 'unsubscribe', id, patterns: readPatterns(request.topics, fail) };
    case 'refresh':
      if (typeof request.token !== 'string' || request.token === '') fail('token must be a non-empty string (a JWT)');
      return { op: 'refresh', id, token: request.token as string };
    default: {
      const patterns = readPatterns(request.topics, fail);
      const snapshot = readBoolean(request.snapshot, 'snapshot', true, fail);
      const conflate = readBoolean(request.conflate, 'conflate', true, fail);
      return { op: 'subscribe', id, patterns, snapshot, conflate, since: readSince(request.since, fail) };
    }
  }
}

function readId(id: unknown): RequestId | undefined {
  if (id === undefined || typeof id === 'string' || typeof id === 'number') return id;
  throw new RequestError(ErrorCode.BAD_REQUEST, `id must be a JSON number or string, not ${id === null ? 'null' : Array.isArray(id) ? 'an array' : typeof id}`, undefined);
}

function readPatterns(topics: unknown, fail: Fail): string[] {
  if (!Array.isArray(topics) || topics.length === 0 || !topics.every((t) => typeof t === 'string')) {
    fail('topics must be a non-empty array of strings');
  }
  const patterns = topics as string[];
  if (patterns.length > MAX_PATTERNS_PER_REQUEST) fail(`topics lists ${patterns.length} patterns, at most ${MAX_PATTERNS_PER_REQUEST} per request`);
  for (const pattern of patterns) {
    const problem = patternProblem(pattern);
    if (problem !== undefined) fail(problem, ErrorCode.BAD_TOPIC);
  }
  return [...new Set(patterns)];
}

function readBoolean(value: unknown, name: string, fallback: boolean, fail: Fail): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(`${name} must be true or false`);
  return value as boolean;
}

function readSince(value: unknown, fail: Fail): Map<string, Position> {
  const since = new Map<string, Position>();
  if (value === undefined) return since;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('since must be an object of topic -> {epoch, seq}');
  for (const [topic, position] of Object.entries(value as Record<string, unknown>)) {
    const { epoch, seq } = (position ?? {}) as Record<string, unknown>;
    const valid = topicProblem(topic) === undefined
      && Number.isSafeInteger(epoch) && (epoch as number) >= 1 && (epoch as number) <= 0xffff_ffff
      && Number.isSafeInteger(seq) && (seq as number) >= 0;
    if (!valid) fail(`since[${JSON.stringify(topic)}] must be {"epoch": 1..2^32-1, "seq": integer >= 0} for a valid topic`);
    since.set(topic, { epoch: epoch as number, seq: seq as number });
  }
  return since;
}
