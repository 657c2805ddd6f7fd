/**
 * The checks every record validator shares (PROTOCOL.md sections 1, 2 and 8), each failure a
 * WireError naming the field. Browser-safe: the book validator that uses them is.
 */
import { WireError } from './errors.js';

export function requireObject(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new WireError('record', `record is ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}, expected a JSON object`);
  }
  return value as Record<string, unknown>;
}

export function requireMatch(record: Record<string, unknown>, field: 'venue' | 'symbol', expected: string): void {
  const actual = record[field];
  if (typeof actual !== 'string') throw fieldError(field, actual, 'a string');
  if (actual !== expected) {
    throw new WireError('mismatch', `record ${field} ${JSON.stringify(actual)} does not match the topic's ${JSON.stringify(expected)}`);
  }
}

/** `exchTs`, when present: integer microseconds since the Unix epoch. */
export function requireOptionalMicros(record: Record<string, unknown>, field: string): void {
  const value = record[field];
  if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) >= 0)) {
    throw fieldError(field, value, 'integer microseconds since the Unix epoch');
  }
}

export function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

export function fieldError(field: string, value: unknown, expected: string): WireError {
  const shown = value === undefined ? 'missing' : JSON.stringify(value);
  return new WireError('record', `record field ${field} is ${shown}, expected ${expected}`);
}
