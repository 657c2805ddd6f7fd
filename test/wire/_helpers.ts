/** Shared helpers and fast-check arbitraries for the src/wire tests (not a test file itself). */
import type { ExecutionContext } from 'ava';
import fc from 'fast-check';
import { WireError, type Header, type RejectReason, type StatusRecord, type TickRecord } from '../../src/wire/index.js';

/** Runs a fast-check property as one AVA assertion; a counterexample fails the test with fast-check's report. */
export function holds<Ts>(t: ExecutionContext, property: fc.IProperty<Ts>, params?: fc.Parameters<Ts>): void {
  t.notThrows(() => fc.assert(property, params));
}

export async function holdsAsync<Ts>(t: ExecutionContext, property: fc.IAsyncProperty<Ts>, params?: fc.Parameters<Ts>): Promise<void> {
  await t.notThrowsAsync(async () => fc.assert(property, params));
}

/**
 * Asserts that `fn` throws a WireError with the given reason and, when `mentions` is given, that its
 * message names the problem (contains each given substring).
 */
export function throwsWire(t: ExecutionContext, fn: () => unknown, reason: RejectReason, ...mentions: string[]): WireError {
  const err = t.throws(fn, { instanceOf: WireError });
  t.is(err.reason, reason, `reason of: ${err.message}`);
  for (const text of mentions) t.true(err.message.includes(text), `message ${JSON.stringify(err.message)} should mention ${JSON.stringify(text)}`);
  return err;
}

/** For use inside properties: the WireError reason `fn` throws, or 'ok'; any other exception propagates. */
export function outcome(fn: () => unknown): RejectReason | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof WireError) return err.reason;
    throw err;
  }
}

/** The characters PROTOCOL.md section 1 allows in a topic segment. */
export const SEGMENT_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-/:+=^';

export const segmentArb = fc.string({ unit: fc.constantFrom(...SEGMENT_CHARS), minLength: 1, maxLength: 12 });
/** A symbol is one or more segments, so it may contain dots (BRK.B). */
export const symbolArb = fc.array(segmentArb, { minLength: 1, maxLength: 3 }).map((segments) => segments.join('.'));

export const headerArb: fc.Arbitrary<Header> = fc.record({
  flags: fc.constantFrom(0, 1),
  epoch: fc.integer({ min: 1, max: 2 ** 32 - 1 }),
  seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  ts: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
}, { noNullPrototype: true });

/** The known tick fields in PROTOCOL.md section 2 order. */
export const TICK_FIELD_ORDER = [
  'venue', 'symbol', 'bid', 'bidSize', 'ask', 'askSize', 'last', 'lastSize', 'volume', 'exchTs',
  'open', 'high', 'low', 'close', 'status',
] as const;
export const PRICE_FIELDS = ['bid', 'ask', 'last', 'open', 'high', 'low', 'close'] as const;
export const QUANTITY_FIELDS = ['bidSize', 'askSize', 'lastSize', 'volume'] as const;

/** Finite doubles that survive a JSON round trip unchanged (JSON has no -0). */
const priceArb = fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (Object.is(x, -0) ? 0 : x));
const quantityArb = fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }).map((x) => (Object.is(x, -0) ? 0 : x));

/**
 * Names of unknown extra fields, including ones that trip up naive object building: integer-like keys
 * (listed first by JS objects) and `__proto__`.
 */
export const extraKeyArb = fc
  .oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor', '0', '42', 'toJSON'))
  .filter((key) => !(TICK_FIELD_ORDER as readonly string[]).includes(key));

/** Extra fields as [key, value] pairs with distinct keys. */
export const extrasArb = fc.uniqueArray(fc.tuple(extraKeyArb, fc.jsonValue()), {
  maxLength: 4,
  selector: ([key]) => key,
});

/** A valid tick record for the given instrument, as a list of [field, value] entries in protocol order. */
export function tickEntriesArb(venue: string, symbol: string): fc.Arbitrary<[string, unknown][]> {
  const optional = fc.record(
    {
      bid: priceArb, bidSize: quantityArb, ask: priceArb, askSize: quantityArb, last: priceArb, lastSize: quantityArb,
      volume: quantityArb, exchTs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      open: priceArb, high: priceArb, low: priceArb, close: priceArb,
      status: fc.constantFrom('open', 'halted', 'closed'),
    },
    { requiredKeys: [] },
  );
  return fc
    .tuple(fc.constantFrom('bid', 'ask', 'last'), priceArb, optional)
    .map(([required, price, fields]) => {
      const all: Record<string, unknown> = { venue, symbol, ...fields, [required]: price };
      return TICK_FIELD_ORDER.filter((field) => all[field] !== undefined).map((field): [string, unknown] => [field, all[field]]);
    });
}

/** A record built from entries; Object.fromEntries keeps `__proto__` as an own field, as JSON.parse does. */
export function recordFrom<T>(entries: readonly (readonly [string, unknown])[]): T {
  return Object.fromEntries(entries) as T;
}

export interface TickCase {
  readonly topic: string;
  readonly venue: string;
  readonly symbol: string;
  readonly record: TickRecord;
}

export const tickCaseArb: fc.Arbitrary<TickCase> = fc
  .tuple(segmentArb, symbolArb)
  .chain(([venue, symbol]) =>
    fc.tuple(tickEntriesArb(venue, symbol), extrasArb).map(([entries, extras]) => ({
      topic: `tick.${venue}.${symbol}`,
      venue,
      symbol,
      record: recordFrom<TickRecord>([...entries, ...extras]),
    })),
  );

export const statusRecordArb = (venue: string): fc.Arbitrary<StatusRecord> =>
  fc
    .tuple(fc.constantFrom('up', 'stale', 'down'), fc.option(fc.string(), { nil: undefined }), extrasArb)
    .map(([state, reason, extras]) =>
      recordFrom<StatusRecord>([
        ['venue', venue],
        ['state', state],
        ...(reason === undefined ? [] : [['reason', reason] as const]),
        ...extras.filter(([key]) => !['venue', 'state', 'reason'].includes(key)),
      ]),
    );

export const validHeader: Header = { flags: 0, epoch: 0xdeadbeef, seq: 1, ts: 1_764_070_000_123_456 };
