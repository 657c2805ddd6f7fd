import { WireError } from './errors.js';

export const TOPIC_MAX_BYTES = 200;

/** PROTOCOL.md section 1: ASCII segments of `[A-Za-z0-9_\-/:+=^]`, separated by dots. */
const TOPIC_PATTERN = /^[A-Za-z0-9_\-/:+=^]+(?:\.[A-Za-z0-9_\-/:+=^]+)*$/;
const SEGMENT_PATTERN = /^[A-Za-z0-9_\-/:+=^]+$/;

export type TopicClass = 'tick' | 'status';

export interface ParsedTopic {
  readonly kind: TopicClass;
  readonly venue: string;
  /** Empty for `status.<venue>`; may contain dots for `tick.<venue>.<symbol>` (e.g. BRK.B). */
  readonly symbol: string;
}

/** Returns why `topic` is not a valid v1 topic, or undefined when it is. */
export function topicProblem(topic: string): string | undefined {
  if (topic.length === 0) return 'topic is empty';
  if (topic.length > TOPIC_MAX_BYTES) return `topic is ${topic.length} bytes, at most ${TOPIC_MAX_BYTES} allowed`;
  if (!TOPIC_PATTERN.test(topic)) {
    return `topic ${JSON.stringify(topic)} has an empty segment or a character outside [A-Za-z0-9_-/:+=^.]`;
  }
  if (topic.startsWith('tick.')) {
    return topic.indexOf('.', 5) > 5 ? undefined : `tick topic ${JSON.stringify(topic)} is not tick.<venue>.<symbol>`;
  }
  if (topic.startsWith('status.')) {
    return topic.indexOf('.', 7) === -1 ? undefined : `status topic ${JSON.stringify(topic)} is not status.<venue>`;
  }
  return `topic ${JSON.stringify(topic)} is neither tick.<venue>.<symbol> nor status.<venue>`;
}

/** Splits a valid topic into its class, venue and symbol; throws a WireError naming the problem. */
export function parseTopic(topic: string): ParsedTopic {
  const problem = topicProblem(topic);
  if (problem !== undefined) throw new WireError('topic', problem);
  if (topic.startsWith('status.')) return { kind: 'status', venue: topic.slice(7), symbol: '' };
  const venueEnd = topic.indexOf('.', 5);
  return { kind: 'tick', venue: topic.slice(5, venueEnd), symbol: topic.slice(venueEnd + 1) };
}

export function isSegment(value: string): boolean {
  return SEGMENT_PATTERN.test(value);
}

export function tickTopic(venue: string, symbol: string): string {
  return `tick.${venue}.${symbol}`;
}

export function statusTopic(venue: string): string {
  return `status.${venue}`;
}
