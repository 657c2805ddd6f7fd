import { parseTopic, validateRecord, validateTickRecord, type InstrumentClass, type TickRecord } from '../../wire/index.js';
import type { InstrumentRecords } from '../adapter.js';
import { isoToMicros, parseDecimal } from '../exchange/decimal.js';

/** One line of a recording: when it was published (µs since the Unix epoch), its class and its record. */
export type ReplayEntry = {
  readonly [K in InstrumentClass]: { readonly ts: number; readonly kind: K; readonly record: InstrumentRecords[K] };
}[InstrumentClass];

/** One line of `tickfan record` output: the received message (a tick, book or trade) as the subscriber saw it. */
export interface RecordedLine {
  readonly topic: string;
  readonly epoch: number;
  readonly seq: number;
  readonly ts: number;
  readonly record: InstrumentRecords[InstrumentClass];
}

export function recordedLine(line: RecordedLine): string {
  const { topic, epoch, seq, ts, record } = line;
  return `${JSON.stringify({ topic, epoch, seq, ts, record })}\n`;
}

/** A line of NDJSON written by `tickfan record`; throws an Error naming what is wrong. */
export function parseRecordedLine(line: string): ReplayEntry {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new Error(`not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object {topic, epoch, seq, ts, record}');
  const { topic, ts, record } = value as Record<string, unknown>;
  if (typeof topic !== 'string') throw new Error(`topic is ${JSON.stringify(topic) ?? 'missing'}, expected a string`);
  if (!Number.isSafeInteger(ts) || (ts as number) < 0) throw new Error(`ts is ${JSON.stringify(ts) ?? 'missing'}, expected integer microseconds`);
  const parsed = parseTopic(topic);
  if (parsed.kind === 'status') throw new Error(`${topic} is a status topic: a replay publishes ticks, books and trades, and its own venue status`);
  return { ts: ts as number, kind: parsed.kind, record: validateRecord(parsed, record) } as ReplayEntry;
}

export const CSV_COLUMNS = ['ts', 'venue', 'symbol', 'bid', 'bidSize', 'ask', 'askSize', 'last', 'lastSize', 'volume'] as const;
const CSV_HEADER = CSV_COLUMNS.join(',');

/** True for the header line of the CSV format (which is then skipped). */
export function isCsvHeader(line: string): boolean {
  return line.trim() === CSV_HEADER;
}

/**
 * A CSV line `ts,venue,symbol,bid,bidSize,ask,askSize,last,lastSize,volume`: ts in integer
 * microseconds since the Unix epoch or ISO-8601 UTC (it also becomes exchTs), numbers as plain
 * decimals, empty cells absent. No quoting: no field of a tick can contain a comma.
 */
export function parseCsvLine(line: string): ReplayEntry {
  const cells = line.trim().split(',');
  if (cells.length !== CSV_COLUMNS.length) throw new Error(`${cells.length} columns, expected ${CSV_COLUMNS.length}: ${CSV_HEADER}`);
  const [tsCell, venue, symbol] = cells as [string, string, string];
  const ts = /^\d+$/.test(tsCell) ? Number(tsCell) : isoToMicros(tsCell);
  if (!Number.isSafeInteger(ts)) throw new Error(`ts ${tsCell} is out of range`);
  const record: TickRecord = { venue, symbol };
  for (let i = 3; i < CSV_COLUMNS.length; i++) {
    const cell = cells[i]!;
    if (cell === '') continue;
    try {
      (record as Record<string, unknown>)[CSV_COLUMNS[i]!] = parseDecimal(cell);
    } catch (err) {
      throw new Error(`${CSV_COLUMNS[i]}: ${(err as Error).message}`);
    }
  }
  record.exchTs = ts;
  return { ts, kind: 'tick', record: validateTickRecord(parseTopic(`tick.${venue}.${symbol}`), record) };
}
