import { WireError } from './errors.js';
import type { ParsedTopic } from './topic.js';

/** PROTOCOL.md section 2: the full L1 record of one instrument. Unknown extra fields pass through. */
export interface TickRecord {
  venue: string;
  symbol: string;
  bid?: number;
  bidSize?: number;
  ask?: number;
  askSize?: number;
  last?: number;
  lastSize?: number;
  volume?: number;
  /** Integer microseconds since the Unix epoch, the source's own clock. */
  exchTs?: number;
  open?: number;
  high?: number;
  low?: number;
  close?: number;
  status?: 'open' | 'halted' | 'closed';
  [extra: string]: unknown;
}

export type VenueState = 'up' | 'stale' | 'down';

/** PROTOCOL.md section 1: the payload of `status.<venue>`. */
export interface StatusRecord {
  venue: string;
  state: VenueState;
  reason?: string;
  [extra: string]: unknown;
}

/** The order PROTOCOL.md section 2 prescribes; extra fields follow in their own order. */
const TICK_FIELD_ORDER = [
  'venue', 'symbol', 'bid', 'bidSize', 'ask', 'askSize', 'last', 'lastSize', 'volume', 'exchTs',
  'open', 'high', 'low', 'close', 'status',
] as const;
const KNOWN_TICK_FIELDS: ReadonlySet<string> = new Set(TICK_FIELD_ORDER);
const TICK_FIELD_RANK: ReadonlyMap<string, number> = new Map(TICK_FIELD_ORDER.map((field, i) => [field, i]));
const PRICE_FIELDS = ['bid', 'ask', 'last', 'open', 'high', 'low', 'close'] as const;
const QUANTITY_FIELDS = ['bidSize', 'askSize', 'lastSize', 'volume'] as const;
const TRADING_STATUSES: ReadonlySet<unknown> = new Set(['open', 'halted', 'closed']);
const VENUE_STATES: ReadonlySet<unknown> = new Set(['up', 'stale', 'down']);

/** Checks a parsed JSON value against the record rules of its topic; throws a WireError naming the field. */
export function validateRecord(topic: ParsedTopic, value: unknown): TickRecord | StatusRecord {
  return topic.kind === 'tick' ? validateTickRecord(topic, value) : validateStatusRecord(topic, value);
}

export function validateTickRecord(topic: ParsedTopic, value: unknown): TickRecord {
  const record = requireObject(value);
  requireMatch(record, 'venue', topic.venue);
  requireMatch(record, 'symbol', topic.symbol);
  if (record.bid === undefined && record.ask === undefined && record.last === undefined) {
    throw new WireError('record', 'record has none of bid, ask, last');
  }
  for (const field of PRICE_FIELDS) {
    const v = record[field];
    if (v !== undefined && !isFiniteNumber(v)) throw fieldError(field, v, 'a finite number');
  }
  for (const field of QUANTITY_FIELDS) {
    const v = record[field];
    if (v !== undefined && !(isFiniteNumber(v) && v >= 0)) throw fieldError(field, v, 'a finite number >= 0');
  }
  const exchTs = record.exchTs;
  if (exchTs !== undefined && !(Number.isSafeInteger(exchTs) && (exchTs as number) >= 0)) {
    throw fieldError('exchTs', exchTs, 'integer microseconds since the Unix epoch');
  }
  if (record.status !== undefined && !TRADING_STATUSES.has(record.status)) {
    throw fieldError('status', record.status, '"open", "halted" or "closed"');
  }
  return record as TickRecord;
}

export function validateStatusRecord(topic: ParsedTopic, value: unknown): StatusRecord {
  const record = requireObject(value);
  requireMatch(record, 'venue', topic.venue);
  if (!VENUE_STATES.has(record.state)) throw fieldError('state', record.state, '"up", "stale" or "down"');
  if (record.reason !== undefined && typeof record.reason !== 'string') throw fieldError('reason', record.reason, 'a string');
  return record as StatusRecord;
}

/** Serialises a tick record with its fields in protocol order, extra fields last. */
export function encodeTickRecord(record: TickRecord): Buffer {
  if (inProtocolOrder(record)) return Buffer.from(JSON.stringify(record));
  // Joined by hand rather than via an intermediate object: an object would list integer-like
  // extra keys ("7") before `venue`, and assigning an own `__proto__` field would drop it.
  const members: string[] = [];
  const add = (field: string): void => {
    const value = JSON.stringify(record[field]);
    if (value !== undefined) members.push(`${JSON.stringify(field)}:${value}`);
  };
  for (const field of TICK_FIELD_ORDER) add(field);
  for (const field of Object.keys(record)) {
    if (!KNOWN_TICK_FIELDS.has(field)) add(field);
  }
  return Buffer.from(`{${members.join(',')}}`);
}

/**
 * The fast path of the publisher's hot loop: adapters build records in protocol order, and
 * then JSON.stringify already writes the right bytes.
 */
function inProtocolOrder(record: TickRecord): boolean {
  let rank = -1;
  let extrasStarted = false;
  for (const field in record) {
    const fieldRank = TICK_FIELD_RANK.get(field);
    if (fieldRank === undefined) {
      extrasStarted = true;
    } else {
      if (extrasStarted || fieldRank < rank) return false;
      rank = fieldRank;
    }
  }
  return true;
}

export function encodeStatusRecord(record: StatusRecord): Buffer {
  return Buffer.from(JSON.stringify(record));
}

function requireObject(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new WireError('record', `record is ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}, expected a JSON object`);
  }
  return value as Record<string, unknown>;
}

function requireMatch(record: Record<string, unknown>, field: 'venue' | 'symbol', expected: string): void {
  const actual = record[field];
  if (typeof actual !== 'string') throw fieldError(field, actual, 'a string');
  if (actual !== expected) {
    throw new WireError('mismatch', `record ${field} ${JSON.stringify(actual)} does not match the topic's ${JSON.stringify(expected)}`);
  }
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function fieldError(field: string, value: unknown, expected: string): WireError {
  const shown = value === undefined ? 'missing' : JSON.stringify(value);
  return new WireError('record', `record field ${field} is ${shown}, expected ${expected}`);
}
