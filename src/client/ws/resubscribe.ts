import { MAX_PATTERNS_PER_REQUEST, MAX_REQUEST_BYTES, patternMatches, type Position, type SubscribeRequest } from '../../wire/websocket.js';
import type { SubscribeOptions } from './types.js';

/** A subscribe request without its id, which is given when it is sent. */
export type PlannedSubscribe = Omit<SubscribeRequest, 'op' | 'id'>;

export interface ResubscribeLimits {
  /** Bytes of a whole request, id included. */
  readonly requestBytes: number;
  /** Patterns per request. */
  readonly patterns: number;
  /** Bytes of the patterns of one request: the rest of `requestBytes` is for `since`. */
  readonly patternBytes: number;
}

/** Under the server's limits with headroom: half its patterns, a third of its bytes for patterns. */
export const RESUBSCRIBE_LIMITS: ResubscribeLimits = {
  requestBytes: MAX_REQUEST_BYTES - 1024,
  patterns: Math.floor(MAX_PATTERNS_PER_REQUEST / 2),
  patternBytes: 24 * 1024,
};

/** The widest id this client sends, so a planned request stays under the limit whatever id it gets. */
const WIDEST_ID = Number.MAX_SAFE_INTEGER;
/** `,"since":{` and `}` around the entries, and the last entry's comma that JSON does not have. */
const SINCE_WRAPPER_BYTES = 12;

/**
 * The requests that subscribe every subscription again on a new connection: patterns grouped
 * by options, at most `limits.patterns` and `limits.patternBytes` of them per request, each
 * carrying `since` with the held position of every held topic its patterns match, each topic
 * in exactly one request (the first whose patterns match it). When the `since` of a group of
 * patterns does not fit one request, the same patterns go again with the rest of it, and
 * only the last of them asks for snapshots: a topic resumed by an earlier one must get no
 * snapshot in between. Topics are ASCII (PROTOCOL.md section 1), so characters are bytes.
 */
export function planResubscriptions(
  subscriptions: ReadonlyMap<string, Required<SubscribeOptions>>,
  held: ReadonlyMap<string, Position>,
  limits: ResubscribeLimits = RESUBSCRIBE_LIMITS,
): PlannedSubscribe[] {
  const resumed = new Set<string>();
  const plans: PlannedSubscribe[] = [];
  for (const { options, patterns } of groupByOptions(subscriptions)) {
    for (const chunk of chunkPatterns(patterns, limits)) {
      const topics: string[] = [];
      for (const topic of held.keys()) {
        if (resumed.has(topic) || !chunk.some((pattern) => patternMatches(pattern, topic))) continue;
        resumed.add(topic);
        topics.push(topic);
      }
      plans.push(...withSince(chunk, options, topics, held, limits));
    }
  }
  return plans;
}

/**
 * The subscribe requests that take `patterns` again after a renewal unsubscribed them (the
 * client's books that stopped matching, client.ts): each with its options but always asking for
 * snapshots, which alone rebuild a book; every held topic they match resumes from `since`, so
 * only the topics the client let go of (its dropped books) get a snapshot.
 */
export function planRenewal(
  subscriptions: ReadonlyMap<string, Required<SubscribeOptions>>,
  patterns: readonly string[],
  held: ReadonlyMap<string, Position>,
): PlannedSubscribe[] {
  const renewed = new Map<string, Required<SubscribeOptions>>();
  for (const pattern of patterns) {
    const options = subscriptions.get(pattern);
    if (options !== undefined) renewed.set(pattern, { ...options, snapshot: true });
  }
  return planResubscriptions(renewed, held);
}

function groupByOptions(subscriptions: ReadonlyMap<string, Required<SubscribeOptions>>): { options: Required<SubscribeOptions>; patterns: string[] }[] {
  const groups = new Map<string, { options: Required<SubscribeOptions>; patterns: string[] }>();
  for (const [pattern, options] of subscriptions) {
    const key = `${options.snapshot}/${options.conflate}`;
    let group = groups.get(key);
    if (group === undefined) groups.set(key, (group = { options, patterns: [] }));
    group.patterns.push(pattern);
  }
  return [...groups.values()];
}

function chunkPatterns(patterns: readonly string[], limits: ResubscribeLimits): string[][] {
  const chunks: string[][] = [];
  let chunk: string[] = [];
  let bytes = 0;
  for (const pattern of patterns) {
    // The pattern's quotes and comma.
    const size = pattern.length + 3;
    if (chunk.length > 0 && (chunk.length >= limits.patterns || bytes + size > limits.patternBytes)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(pattern);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** The requests of one chunk of patterns: one, or several when its `since` does not fit one. */
function withSince(
  topics: readonly string[],
  options: Required<SubscribeOptions>,
  resumed: readonly string[],
  held: ReadonlyMap<string, Position>,
  limits: ResubscribeLimits,
): PlannedSubscribe[] {
  const base = { topics, snapshot: options.snapshot, conflate: options.conflate };
  if (resumed.length === 0) return [base];
  const baseBytes = JSON.stringify({ op: 'subscribe', id: WIDEST_ID, ...base }).length + SINCE_WRAPPER_BYTES;
  const parts: Record<string, Position>[] = [];
  let since: Record<string, Position> = {};
  let entries = 0;
  let bytes = baseBytes;
  for (const topic of resumed) {
    const { epoch, seq } = held.get(topic)!;
    const size = `${JSON.stringify(topic)}:{"epoch":${epoch},"seq":${seq}},`.length;
    if (entries > 0 && bytes + size > limits.requestBytes) {
      parts.push(since);
      since = {};
      entries = 0;
      bytes = baseBytes;
    }
    since[topic] = { epoch, seq };
    entries++;
    bytes += size;
  }
  parts.push(since);
  return parts.map((part, i) => ({ ...base, snapshot: i === parts.length - 1 && options.snapshot, since: part }));
}
