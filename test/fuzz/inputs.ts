/**
 * The hostile inputs the fuzz surfaces share (not a test file itself): arbitrary bytes, JSON
 * that is almost a request or record, huge and deeply nested values, invalid UTF-8.
 */
import fc from 'fast-check';
import { encodeHeader } from '../../src/wire/index.js';

/** Bytes that are not UTF-8: a lone continuation byte, an overlong encoding, a surrogate, 0xff. */
const INVALID_UTF8 = [[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff], [0xf4, 0x90, 0x80, 0x80]];

export const bytes = (maxLength = 256): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));

/** `text` as UTF-8 with an invalid sequence spliced in somewhere. */
export const invalidUtf8 = (text: fc.Arbitrary<string>): fc.Arbitrary<Buffer> =>
  fc.tuple(text, fc.constantFrom(...INVALID_UTF8), fc.nat()).map(([s, bad, at]) => {
    const good = Buffer.from(s);
    const cut = good.length === 0 ? 0 : at % good.length;
    return Buffer.concat([good.subarray(0, cut), Buffer.from(bad), good.subarray(cut)]);
  });

/** JSON nested `depth` deep in arrays or objects (a parser that recurses would overflow its stack). */
export const deepJson = fc.tuple(fc.integer({ min: 1, max: 20_000 }), fc.boolean(), fc.boolean()).map(([depth, objects, closed]) => {
  const open = objects ? '{"a":'.repeat(depth) : '['.repeat(depth);
  return open + (closed ? '1' + (objects ? '}' : ']').repeat(depth) : '');
});

/** One huge value: a long string, a long array, a number with many digits. */
export const hugeJson = fc.tuple(fc.integer({ min: 1000, max: 100_000 }), fc.constantFrom('string', 'array', 'number')).map(([n, kind]) =>
  kind === 'string' ? JSON.stringify('x'.repeat(n)) : kind === 'array' ? `[${'0,'.repeat(n)}0]` : '9'.repeat(n));

/** Strings a topic or pattern check must sort out: valid-looking, edge-of-grammar, unicode, long. */
export const topicLike: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('tick.SIM.BTC-USD', 'status.SIM', 'tick.SIM.*', 'tick.*', '*', 'tick.', 'tick..X', 'status.', 'tick.SIM.BTC-USD.', 'tick.SIM.BTC USD', 'tick.É.X'),
  fc.tuple(fc.constantFrom('tick.', 'status.', 'tock.', ''), fc.string({ maxLength: 12 }), fc.constantFrom('', '.', '*', '.*'), fc.string({ maxLength: 12 }))
    .map(([a, b, c, d]) => a + b + c + d),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer({ min: 100, max: 400 }).map((n) => `tick.SIM.${'A'.repeat(n)}`),
);

/** Any JSON value, with topic-like strings among its leaves. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(fc.jsonValue({ maxDepth: 4 }), topicLike, fc.array(topicLike, { maxLength: 5 }));

/** A number field as a record might carry it, valid or not. */
export const numberLike: fc.Arbitrary<unknown> = fc.oneof(
  fc.double(), fc.integer(), fc.constantFrom(0, -1, 2 ** 53, -(2 ** 53), 1e308, Number.MIN_VALUE), fc.string({ maxLength: 8 }), fc.constant(null), anyJson,
);

/** A JSON object shaped like a tick record, each field possibly wrong, possibly missing, plus extras. */
export const recordLike: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    venue: fc.oneof(fc.constantFrom('SIM', 'SIMEQ'), topicLike, anyJson),
    symbol: fc.oneof(fc.constantFrom('BTC-USD', 'AAPL'), topicLike, anyJson),
    state: fc.oneof(fc.constantFrom('up', 'stale', 'down'), anyJson),
    reason: anyJson,
    bid: numberLike, bidSize: numberLike, ask: numberLike, askSize: numberLike,
    last: numberLike, lastSize: numberLike, volume: numberLike, exchTs: numberLike, ts: numberLike,
    extra: anyJson,
  },
  { requiredKeys: [] },
);

/** A 24-byte header with every field random, or bytes of any length. */
export const headerLike: fc.Arbitrary<Buffer> = fc.oneof(
  fc.record({
    flags: fc.integer({ min: 0, max: 1 }),
    epoch: fc.integer({ min: 1, max: 0xffff_ffff }),
    seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    ts: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  }).map(encodeHeader),
  fc.uint8Array({ minLength: 24, maxLength: 24 }).map((a) => Buffer.from(a)),
  bytes(40),
);

/** A payload: JSON of a record-like object, any JSON, invalid UTF-8, raw bytes, deep or huge JSON. */
export const payloadLike: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 4, arbitrary: recordLike.map((r) => Buffer.from(JSON.stringify(r))) },
  { weight: 1, arbitrary: anyJson.map((v) => Buffer.from(JSON.stringify(v) ?? '')) },
  { weight: 1, arbitrary: invalidUtf8(recordLike.map((r) => JSON.stringify(r))) },
  { weight: 1, arbitrary: bytes() },
  { weight: 1, arbitrary: fc.oneof(deepJson, hugeJson).map((s) => Buffer.from(s)) },
);

/** A topic frame: a topic-like string as ASCII or UTF-8 bytes, or raw bytes. */
export const topicFrame: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 4, arbitrary: topicLike.map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: bytes(40) },
);

/** Patterns and topics that pass the grammar, so inputs built on them get past it to the checks after. */
export const validPattern: fc.Arbitrary<string> = fc.constantFrom('tick.SIM.BTC-USD', 'tick.SIM.ETH-USD', 'tick.SIMEQ.AAPL', 'tick.SIM.*', 'tick.*', 'status.SIM', 'status.*', '*', 't*');

const instrument = fc.constantFrom(['SIM', 'BTC-USD'], ['SIM', 'ETH-USD'], ['SIMEQ', 'AAPL'], ['X_1', 'a.b-c']);
// Cents and hundredths, as feeds send them (a CSV cell takes at most 15 significant digits); full doubles come in as broken fields.
const price = fc.integer({ min: -1e11, max: 1e11 }).map((n) => n / 100);
const quantity = fc.integer({ min: 0, max: 1e12 }).map((n) => n / 100);

/**
 * A tick topic with its record, valid except for (sometimes) one field given any value: so most
 * inputs reach the field checks and some are accepted.
 */
export const nearValidTick: fc.Arbitrary<{ readonly topic: string; readonly record: Record<string, unknown> }> = fc
  .tuple(
    instrument,
    fc.record({ bid: price, bidSize: quantity, ask: price, askSize: quantity, last: price, volume: quantity, exchTs: fc.nat(), status: fc.constantFrom('open', 'halted', 'closed') }, { requiredKeys: ['bid'] }),
    fc.option(fc.tuple(fc.constantFrom('venue', 'symbol', 'bid', 'bidSize', 'ask', 'last', 'volume', 'exchTs', 'status', 'extra'), numberLike), { freq: 2 }),
  )
  .map(([[venue, symbol], fields, broken]) => {
    const record: Record<string, unknown> = { venue, symbol, ...fields };
    if (broken) record[broken[0]] = broken[1];
    return { topic: `tick.${venue}.${symbol}`, record };
  });

/** A status topic with its record, valid except for (sometimes) one field. */
export const nearValidStatus: fc.Arbitrary<{ readonly topic: string; readonly record: Record<string, unknown> }> = fc
  .tuple(fc.constantFrom('SIM', 'SIMEQ'), fc.constantFrom('up', 'stale', 'down'), fc.option(fc.tuple(fc.constantFrom('venue', 'state', 'reason'), anyJson), { freq: 2 }))
  .map(([venue, state, broken]) => {
    const record: Record<string, unknown> = { venue, state, reason: 'fuzz' };
    if (broken) record[broken[0]] = broken[1];
    return { topic: `status.${venue}`, record };
  });
