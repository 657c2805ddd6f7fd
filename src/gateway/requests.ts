import { topicProblem, TOPIC_MAX_BYTES } from '../wire/index.js';

/** PROTOCOL.md section 5, client -> server. */
export type RequestId = number | string;

export interface Resume {
  readonly epoch: number;
  readonly seq: number;
}

export type ClientRequest =
  | {
      readonly op: 'subscribe';
      readonly id: RequestId | undefined;
      readonly patterns: readonly string[];
      readonly snapshot: boolean;
      readonly conflate: boolean;
      readonly since: ReadonlyMap<string, Resume>;
    }
  | { readonly op: 'unsubscribe'; readonly id: RequestId | undefined; readonly patterns: readonly string[] }
  | { readonly op: 'list'; readonly id: RequestId | undefined; readonly prefix: string }
  | { readonly op: 'ping'; readonly id: RequestId | undefined };

export const ERROR_CODES = ['BAD_REQUEST', 'BAD_TOPIC', 'FORBIDDEN', 'RATE_LIMITED', 'TOO_MANY_SUBSCRIPTIONS'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A refused request: the error event's code and message, and the id to echo when one was readable. */
export class RequestError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly id: RequestId | undefined,
  ) {
    super(message);
  }
}

const OPS = ['subscribe', 'unsubscribe', 'list', 'ping'];
const MAX_PATTERNS_PER_REQUEST = 1000;

/** Parses one text frame; throws RequestError naming what is wrong. */
export function parseRequest(text: string): ClientRequest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new RequestError('BAD_REQUEST', `malformed JSON: ${(err as Error).message}`, undefined);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RequestError('BAD_REQUEST', 'a request must be a JSON object', undefined);
  }
  const request = value as Record<string, unknown>;
  const id = readId(request.id);
  const fail = (message: string, code: ErrorCode = 'BAD_REQUEST'): never => {
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
    default: {
      const patterns = readPatterns(request.topics, fail);
      const snapshot = readBoolean(request.snapshot, 'snapshot', true, fail);
      const conflate = readBoolean(request.conflate, 'conflate', true, fail);
      return { op: 'subscribe', id, patterns, snapshot, conflate, since: readSince(request.since, fail) };
    }
  }
}

/** Why a subscription pattern is invalid: an exact topic, or a prefix ending in `*` (`*` alone is everything). */
export function patternProblem(pattern: string): string | undefined {
  if (pattern === '*') return undefined;
  if (pattern.endsWith('*')) {
    const prefix = pattern.slice(0, -1);
    // A prefix of some valid topic: of a class name, or one that the shortest completion makes a topic
    // (so `tick..*`, `foo.*` or `status.SIM.*`, which could never match anything, are refused).
    const ofClass = 'tick.'.startsWith(prefix) || 'status.'.startsWith(prefix);
    if (!ofClass && !PREFIX_COMPLETIONS.some((rest) => topicProblem(prefix + rest) === undefined)) {
      return `pattern ${JSON.stringify(pattern)} is not a topic prefix followed by *: no valid topic starts with ${JSON.stringify(prefix)}`;
    }
    return undefined;
  }
  return topicProblem(pattern);
}

/** The shortest endings that can turn a prefix into a topic: itself, the rest of a segment, another segment. */
const PREFIX_COMPLETIONS = ['', 'X', '.X', 'X.X'];

function readId(id: unknown): RequestId | undefined {
  if (id === undefined || typeof id === 'string' || typeof id === 'number') return id;
  throw new RequestError('BAD_REQUEST', `id must be a JSON number or string, not ${id === null ? 'null' : Array.isArray(id) ? 'an array' : typeof id}`, undefined);
}

function readPatterns(topics: unknown, fail: (message: string, code?: ErrorCode) => never): string[] {
  if (!Array.isArray(topics) || topics.length === 0 || !topics.every((t) => typeof t === 'string')) {
    fail('topics must be a non-empty array of strings');
  }
  const patterns = topics as string[];
  if (patterns.length > MAX_PATTERNS_PER_REQUEST) fail(`topics lists ${patterns.length} patterns, at most ${MAX_PATTERNS_PER_REQUEST} per request`);
  for (const pattern of patterns) {
    const problem = patternProblem(pattern);
    if (problem !== undefined) fail(problem, 'BAD_TOPIC');
  }
  return [...new Set(patterns)];
}

function readBoolean(value: unknown, name: string, fallback: boolean, fail: (message: string) => never): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(`${name} must be true or false`);
  return value as boolean;
}

function readSince(value: unknown, fail: (message: string) => never): Map<string, Resume> {
  const since = new Map<string, Resume>();
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
