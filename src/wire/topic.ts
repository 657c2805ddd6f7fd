import { WireError } from './errors.js';

export const TOPIC_MAX_BYTES = 200;

/** PROTOCOL.md section 1: ASCII segments of `[A-Za-z0-9_\-/:+=^]`, separated by dots. */
const TOPIC_PATTERN = /^[A-Za-z0-9_\-/:+=^]+(?:\.[A-Za-z0-9_\-/:+=^]+)*$/;
const SEGMENT_PATTERN = /^[A-Za-z0-9_\-/:+=^]+$/;

/** The classes of PROTOCOL.md sections 1 and 8 whose topics are `<class>.<venue>.<symbol>`. */
export const INSTRUMENT_CLASSES = ['tick', 'book', 'trade'] as const;
export type InstrumentClass = (typeof INSTRUMENT_CLASSES)[number];
export type TopicClass = InstrumentClass | 'status';
/** Every class, in the order error messages name them. */
export const TOPIC_CLASSES: readonly TopicClass[] = [...INSTRUMENT_CLASSES, 'status'];

export interface ParsedTopic {
  readonly kind: TopicClass;
  readonly venue: string;
  /** Empty for `status.<venue>`; may contain dots for `<class>.<venue>.<symbol>` (e.g. BRK.B). */
  readonly symbol: string;
}

const STATUS_PREFIX = 'status.';
const TOPIC_SHAPES = [...INSTRUMENT_CLASSES.map((kind) => `${kind}.<venue>.<symbol>`), 'status.<venue>'];
const UNKNOWN_CLASS = `is none of ${TOPIC_SHAPES.slice(0, -1).join(', ')} or ${TOPIC_SHAPES.at(-1)}`;

/** Returns why `topic` is not a valid v1 topic, or undefined when it is. */
export function topicProblem(topic: string): string | undefined {
  const checked = checkTopic(topic);
  return typeof checked === 'string' ? checked : undefined;
}

/** Splits a valid topic into its class, venue and symbol; throws a WireError naming the problem. */
export function parseTopic(topic: string): ParsedTopic {
  const checked = checkTopic(topic);
  if (typeof checked === 'string') throw new WireError('topic', checked);
  const { kind } = checked;
  if (kind === 'status') return { kind, venue: topic.slice(STATUS_PREFIX.length), symbol: '' };
  const venueStart = kind.length + 1;
  const venueEnd = topic.indexOf('.', venueStart);
  return { kind, venue: topic.slice(venueStart, venueEnd), symbol: topic.slice(venueEnd + 1) };
}

/** The topic's class when it is valid, else why not: one pass for both, as parseTopic runs for every message a subscriber decodes. */
function checkTopic(topic: string): { readonly kind: TopicClass } | string {
  if (topic.length === 0) return 'topic is empty';
  if (topic.length > TOPIC_MAX_BYTES) return `topic is ${topic.length} bytes, at most ${TOPIC_MAX_BYTES} allowed`;
  if (!TOPIC_PATTERN.test(topic)) {
    return `topic ${JSON.stringify(topic)} has an empty segment or a character outside [A-Za-z0-9_-/:+=^.]`;
  }
  const kind = instrumentClassOf(topic);
  if (kind !== undefined) {
    return topic.indexOf('.', kind.length + 1) > kind.length + 1
      ? CLASS_OF[kind]
      : `${kind} topic ${JSON.stringify(topic)} is not ${kind}.<venue>.<symbol>`;
  }
  if (topic.startsWith(STATUS_PREFIX)) {
    return topic.indexOf('.', STATUS_PREFIX.length) === -1 ? CLASS_OF.status : `status topic ${JSON.stringify(topic)} is not status.<venue>`;
  }
  return `topic ${JSON.stringify(topic)} ${UNKNOWN_CLASS}`;
}

/** Built once: parseTopic runs for every message a subscriber decodes. */
const INSTRUMENT_PREFIXES = INSTRUMENT_CLASSES.map((kind) => [kind, `${kind}.`] as const);
const CLASS_OF = Object.fromEntries(TOPIC_CLASSES.map((kind) => [kind, { kind }])) as Readonly<Record<TopicClass, { readonly kind: TopicClass }>>;

function instrumentClassOf(topic: string): InstrumentClass | undefined {
  for (const [kind, prefix] of INSTRUMENT_PREFIXES) if (topic.startsWith(prefix)) return kind;
  return undefined;
}

export function isSegment(value: string): boolean {
  return SEGMENT_PATTERN.test(value);
}

export function tickTopic(venue: string, symbol: string): string {
  return `tick.${venue}.${symbol}`;
}

export function bookTopic(venue: string, symbol: string): string {
  return `book.${venue}.${symbol}`;
}

export function tradeTopic(venue: string, symbol: string): string {
  return `trade.${venue}.${symbol}`;
}

export function statusTopic(venue: string): string {
  return `status.${venue}`;
}
