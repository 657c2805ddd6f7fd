import { isUtf8 } from 'node:buffer';
import { WireError } from './errors.js';
import { decodeHeader, encodeHeader, type Header } from './header.js';
import type { BookRecord } from './book-record.js';
import { validateRecord, type StatusRecord, type TickRecord, type TradeRecord } from './record.js';
import { parseTopic, type ParsedTopic } from './topic.js';

/** The 3 frames of PROTOCOL.md section 3, as they travel: topic, header, payload. */
export type Frames = readonly [topic: Buffer, header: Buffer, payload: Buffer];

interface DecodedBase {
  readonly topic: string;
  readonly header: Header;
  /** The frames exactly as received, so a relay can forward them without re-encoding. */
  readonly frames: Frames;
}
export interface DecodedTick extends DecodedBase {
  readonly kind: 'tick';
  readonly record: TickRecord;
}
export interface DecodedStatus extends DecodedBase {
  readonly kind: 'status';
  readonly record: StatusRecord;
}
export interface DecodedBook extends DecodedBase {
  readonly kind: 'book';
  readonly record: BookRecord;
}
export interface DecodedTrade extends DecodedBase {
  readonly kind: 'trade';
  readonly record: TradeRecord;
}
export type DecodedMessage = DecodedTick | DecodedStatus | DecodedBook | DecodedTrade;

export function encodeMessage(topic: string, header: Header, payload: Buffer): Frames {
  return [Buffer.from(topic), encodeHeader(header), payload];
}

/**
 * Decodes and validates one ZeroMQ data message. Throws a WireError whose `reason` is a
 * bounded label for metrics and whose message names what was wrong.
 */
export function decodeMessage(frames: readonly Buffer[]): DecodedMessage {
  return decodeRecord(decodeEnvelope(frames));
}

/**
 * A data message with its frames, topic and header checked and its payload not yet looked at:
 * what A/B arbitration needs to tell a copy from the original, at a fraction of the cost of
 * parsing the record (decodeRecord finishes the job for the copy that goes on).
 */
export interface Envelope {
  readonly topic: string;
  readonly parsed: ParsedTopic;
  readonly header: Header;
  readonly frames: Frames;
}

/** The first half of decodeMessage: frame count, topic and header; a WireError when one is wrong. */
export function decodeEnvelope(frames: readonly Buffer[]): Envelope {
  if (frames.length !== 3) throw new WireError('frame_count', `message has ${frames.length} frames, expected 3`);
  const [topicFrame, headerFrame, payloadFrame] = frames as unknown as Frames;
  const topic = topicFrame.toString('latin1');
  if (!isAscii(topicFrame)) throw new WireError('topic', 'topic frame is not ASCII');
  const parsed = parseTopic(topic);
  const header = decodeHeader(headerFrame);
  return { topic, parsed, header, frames: [topicFrame, headerFrame, payloadFrame] };
}

/** The second half of decodeMessage: the payload's record, validated for the topic's class. */
export function decodeRecord(envelope: Envelope): DecodedMessage {
  const { topic, parsed, header, frames } = envelope;
  const record = validateRecord(parsed, parseJsonPayload(frames[2], 'payload'));
  return { kind: parsed.kind, topic, header, record, frames } as DecodedMessage;
}


/**
 * A payload's JSON value; throws a WireError ('json') naming `what` when it is not UTF-8 JSON.
 * PROTOCOL.md section 2: the payload is UTF-8. toString() would silently replace bad bytes, and the
 * frame is forwarded as received, so a subscriber decoding strictly (Python's json.loads) would fail.
 */
export function parseJsonPayload(payload: Buffer, what: string): unknown {
  if (!isUtf8(payload)) throw new WireError('json', `${what} is not valid UTF-8`);
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new WireError('json', `${what} is not JSON: ${(err as Error).message}`);
  }
}

function isAscii(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i]! > 0x7f) return false;
  return true;
}
