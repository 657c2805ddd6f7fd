import { validateBookRecord, type BookRecord } from './book-record.js';
import { WireError } from './errors.js';
import { fieldError, isFiniteNumber, requireMatch, requireObject, requireOptionalMicros } from './fields.js';
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

/**
 * PROTOCOL.md section 8: the last trade of an instrument, state like a tick (the newest is the topic's
 * value). Unknown extra fields pass through.
 */
export interface TradeRecord {
  venue: string;
  symbol: string;
  price: number;
  size: number;
  /** The taker's side. */
  side: TradeSide;
  tradeId: string;
  /** Integer microseconds since the Unix epoch, the source's own clock. */
  exchTs?: number;
  [extra: string]: unknown;
}

export type TradeSide = 'buy' | 'sell';

export type AnyRecord = TickRecord | StatusRecord | TradeRecord | BookRecord;

/** The orders PROTOCOL.md sections 2 and 8 prescribe; extra fields follow in their own order. */
const TICK_FIELD_ORDER = [
  'venue', 'symbol', 'bid', 'bidSize', 'ask', 'askSize', 'last', 'lastSize', 'volume', 'exchTs',
  'open', 'high', 'low', 'close', 'status',
] as const;
const TRADE_FIELD_ORDER = ['venue', 'symbol', 'price', 'size', 'side', 'tradeId', 'exchTs'] as const;
const BOOK_FIELD_ORDER = ['venue', 'symbol', 'action', 'bids', 'asks', 'checksum', 'exchTs'] as const;
const PRICE_FIELDS = ['bid', 'ask', 'last', 'open', 'high', 'low', 'close'] as const;
const QUANTITY_FIELDS = ['bidSize', 'askSize', 'lastSize', 'volume'] as const;
const TRADING_STATUSES: ReadonlySet<unknown> = new Set(['open', 'halted', 'closed']);
const VENUE_STATES: ReadonlySet<unknown> = new Set(['up', 'stale', 'down']);
const TRADE_SIDES: ReadonlySet<unknown> = new Set(['buy', 'sell']);

/** Checks a parsed JSON value against the record rules of its topic; throws a WireError naming the field. */
export function validateRecord(topic: ParsedTopic, value: unknown): AnyRecord {
  switch (topic.kind) {
    case 'tick':
      return validateTickRecord(topic, value);
    case 'book':
      return validateBookRecord(topic, value);
    case 'trade':
      return validateTradeRecord(topic, value);
    case 'status':
      return validateStatusRecord(topic, value);
  }
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
  requireOptionalMicros(record, 'exchTs');
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

export function validateTradeRecord(topic: ParsedTopic, value: unknown): TradeRecord {
  const record = requireObject(value);
  requireMatch(record, 'venue', topic.venue);
  requireMatch(record, 'symbol', topic.symbol);
  if (!isFiniteNumber(record.price)) throw fieldError('price', record.price, 'a finite number');
  if (!(isFiniteNumber(record.size) && record.size >= 0)) throw fieldError('size', record.size, 'a finite number >= 0');
  if (!TRADE_SIDES.has(record.side)) throw fieldError('side', record.side, '"buy" or "sell" (the taker\'s side)');
  if (typeof record.tradeId !== 'string' || record.tradeId === '') throw fieldError('tradeId', record.tradeId, 'a non-empty string');
  requireOptionalMicros(record, 'exchTs');
  return record as TradeRecord;
}

/** Serialises a tick record with its fields in protocol order, extra fields last. */
export function encodeTickRecord(record: TickRecord): Buffer {
  return encodeTick(record);
}

/** Serialises a trade record with its fields in protocol order, extra fields last. */
export function encodeTradeRecord(record: TradeRecord): Buffer {
  return encodeTrade(record);
}

/** Serialises a book record with its fields in protocol order, extra fields last. */
export function encodeBookRecord(record: BookRecord): Buffer {
  return encodeBook(record);
}

/** A serialiser writing the fields of `order` first, in that order, then the extra fields in their own. */
function orderedEncoder(order: readonly string[]): (record: Record<string, unknown>) => Buffer {
  const known: ReadonlySet<string> = new Set(order);
  const rankOf: ReadonlyMap<string, number> = new Map(order.map((field, i) => [field, i]));

  /**
   * The fast path of the publisher's hot loop: adapters build records in protocol order, and
   * then JSON.stringify already writes the right bytes.
   */
  const inProtocolOrder = (record: Record<string, unknown>): boolean => {
    let rank = -1;
    let extrasStarted = false;
    for (const field in record) {
      const fieldRank = rankOf.get(field);
      if (fieldRank === undefined) {
        extrasStarted = true;
      } else {
        if (extrasStarted || fieldRank < rank) return false;
        rank = fieldRank;
      }
    }
    return true;
  };

  return (record) => {
    if (inProtocolOrder(record)) return Buffer.from(JSON.stringify(record));
    // Joined by hand rather than via an intermediate object: an object would list integer-like
    // extra keys ("7") before `venue`, and assigning an own `__proto__` field would drop it.
    const members: string[] = [];
    const add = (field: string): void => {
      const value = JSON.stringify(record[field]);
      if (value !== undefined) members.push(`${JSON.stringify(field)}:${value}`);
    };
    for (const field of order) add(field);
    for (const field of Object.keys(record)) {
      if (!known.has(field)) add(field);
    }
    return Buffer.from(`{${members.join(',')}}`);
  };
}

const encodeTick = orderedEncoder(TICK_FIELD_ORDER);
const encodeTrade = orderedEncoder(TRADE_FIELD_ORDER);
const encodeBook = orderedEncoder(BOOK_FIELD_ORDER);

export function encodeStatusRecord(record: StatusRecord): Buffer {
  return Buffer.from(JSON.stringify(record));
}
