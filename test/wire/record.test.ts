import test from 'ava';
import fc from 'fast-check';
import {
  encodeStatusRecord, encodeTickRecord, encodeTradeRecord, parseTopic, validateRecord, validateStatusRecord, validateTickRecord,
  validateTradeRecord, type RejectReason, type TickRecord, type TradeRecord,
} from '../../src/wire/index.js';
import {
  PRICE_FIELDS, QUANTITY_FIELDS, TICK_FIELD_ORDER, extrasArb, holds, outcome, recordFrom, segmentArb, symbolArb,
  statusRecordArb, tickCaseArb, tickEntriesArb, throwsWire,
} from './_helpers.js';

const brk = parseTopic('tick.XNYS.BRK.B');
const simStatus = parseTopic('status.SIM');
const base = { venue: 'XNYS', symbol: 'BRK.B' } as const;

/** The example record of PROTOCOL.md section 2, in its order. */
const protocolExample = {
  venue: 'SIM', symbol: 'BTC-USD', bid: 64000.5, bidSize: 1.25, ask: 64001, askSize: 0.5, last: 64000.75,
  lastSize: 0.01, volume: 1532.4, exchTs: 1764070000123456,
};
const protocolExampleJson =
  '{"venue":"SIM","symbol":"BTC-USD","bid":64000.5,"bidSize":1.25,"ask":64001,"askSize":0.5,"last":64000.75,"lastSize":0.01,"volume":1532.4,"exchTs":1764070000123456}';

// ---------------------------------------------------------------------------------------------
// Tick records: accepted

const validTicks: readonly { name: string; record: TickRecord }[] = [
  { name: 'only bid', record: { ...base, bid: 500.25 } },
  { name: 'only ask', record: { ...base, ask: 500.5 } },
  { name: 'only last', record: { ...base, last: 500 } },
  { name: 'a negative price (only finiteness is required)', record: { ...base, last: -37.63 } },
  { name: 'zero sizes and volume', record: { ...base, bid: 1, bidSize: 0, askSize: 0, lastSize: 0, volume: 0 } },
  ...[0, Number.MAX_SAFE_INTEGER].map((exchTs) => ({ name: `exchTs ${exchTs}`, record: { ...base, bid: 1, exchTs } })),
  {
    name: 'every known field',
    record: {
      ...base, bid: 1, bidSize: 2, ask: 3, askSize: 4, last: 5, lastSize: 6, volume: 7, exchTs: 8,
      open: 9, high: 10, low: 11, close: 12, status: 'halted',
    },
  },
  ...(['open', 'halted', 'closed'] as const).map((status) => ({ name: `status "${status}"`, record: { ...base, bid: 1, status } })),
];

for (const { name, record } of validTicks) {
  test(`validateTickRecord accepts a record with ${name} and returns it unchanged`, (t) => {
    const copy = structuredClone(record);
    t.is(validateTickRecord(brk, record), record);
    t.deepEqual(record, copy);
  });
}

test('validateTickRecord passes unknown fields through untouched', (t) => {
  const record = JSON.parse('{"venue":"XNYS","symbol":"BRK.B","bid":1,"iv":{"call":0.2},"tags":["x"],"note":null,"__proto__":7}');
  const validated = validateTickRecord(brk, record);
  t.deepEqual(Object.keys(validated), ['venue', 'symbol', 'bid', 'iv', 'tags', 'note', '__proto__']);
  t.deepEqual(validated.iv, { call: 0.2 });
  t.deepEqual(validated.tags, ['x']);
  t.is(validated.note, null);
  t.is(Object.getOwnPropertyDescriptor(validated, '__proto__')?.value, 7);
});

test('property: validateTickRecord accepts every generated valid record, extra fields included', (t) => {
  holds(t, fc.property(tickCaseArb, ({ topic, record }) => validateTickRecord(parseTopic(topic), record) === record));
});

// ---------------------------------------------------------------------------------------------
// Tick records: rejected

interface Rejection {
  readonly why: string;
  readonly value: unknown;
  readonly reason: RejectReason;
  readonly mentions: readonly string[];
}

const withField = (field: string, value: unknown) => ({ ...base, bid: 1, [field]: value });
const without = (field: 'venue' | 'symbol') => {
  const { [field]: _dropped, ...rest } = { ...base, bid: 1 };
  return rest;
};

const tickRejections: readonly Rejection[] = [
  { why: 'a number', value: 42, reason: 'record', mentions: ['number', 'JSON object'] },
  { why: 'a string', value: '{"venue":"XNYS"}', reason: 'record', mentions: ['string', 'JSON object'] },
  { why: 'a boolean', value: true, reason: 'record', mentions: ['boolean'] },
  { why: 'undefined', value: undefined, reason: 'record', mentions: ['undefined'] },
  { why: 'null', value: null, reason: 'record', mentions: ['null'] },
  { why: 'an array', value: [base], reason: 'record', mentions: ['array'] },
  { why: 'missing venue', value: without('venue'), reason: 'record', mentions: ['venue', 'missing'] },
  { why: 'missing symbol', value: without('symbol'), reason: 'record', mentions: ['symbol', 'missing'] },
  { why: 'a numeric venue', value: withField('venue', 7), reason: 'record', mentions: ['venue', 'string'] },
  { why: 'a null symbol', value: withField('symbol', null), reason: 'record', mentions: ['symbol', 'null'] },
  { why: 'a venue other than the topic\'s', value: withField('venue', 'XNAS'), reason: 'mismatch', mentions: ['venue', '"XNAS"', '"XNYS"'] },
  { why: 'a symbol other than the topic\'s', value: withField('symbol', 'BRK'), reason: 'mismatch', mentions: ['symbol', '"BRK"', '"BRK.B"'] },
  { why: 'a symbol differing only in case', value: withField('symbol', 'brk.b'), reason: 'mismatch', mentions: ['symbol'] },
  { why: 'none of bid, ask, last', value: { ...base, bidSize: 1, volume: 3, open: 1 }, reason: 'record', mentions: ['bid, ask, last'] },
  ...PRICE_FIELDS.flatMap((field) =>
    [NaN, Infinity, -Infinity, '1', null, true, [1]].map((bad) => ({
      why: `${field} ${String(bad)} (${typeof bad})`,
      value: withField(field, bad),
      reason: 'record' as const,
      mentions: [field, 'finite number'],
    })),
  ),
  ...QUANTITY_FIELDS.flatMap((field) =>
    [-1, -Number.MIN_VALUE, NaN, Infinity, '2', null].map((bad) => ({
      why: `${field} ${String(bad)} (${typeof bad})`,
      value: withField(field, bad),
      reason: 'record' as const,
      mentions: [field, '>= 0'],
    })),
  ),
  ...[1.5, -1, NaN, Infinity, 2 ** 53, '1764070000123456', null].map((bad) => ({
    why: `exchTs ${String(bad)} (${typeof bad})`,
    value: withField('exchTs', bad),
    reason: 'record' as const,
    mentions: ['exchTs', 'integer microseconds'],
  })),
  ...['OPEN', 'suspended', '', 1, null].map((bad) => ({
    why: `trading status ${JSON.stringify(bad)}`,
    value: withField('status', bad),
    reason: 'record' as const,
    mentions: ['status', '"open", "halted" or "closed"'],
  })),
];

for (const { why, value, reason, mentions } of tickRejections) {
  test(`validateTickRecord rejects a record that is ${why} (reason '${reason}')`, (t) => {
    throwsWire(t, () => validateTickRecord(brk, value), reason, ...mentions);
  });
}

test('property: a record mismatching the topic\'s venue or symbol is rejected as mismatch', (t) => {
  holds(
    t,
    fc.property(segmentArb, symbolArb, segmentArb, fc.constantFrom('venue', 'symbol'), (venue, symbol, other, field) => {
      fc.pre(other !== venue && other !== symbol);
      const topic = parseTopic(`tick.${venue}.${symbol}`);
      return outcome(() => validateTickRecord(topic, { venue, symbol, last: 1, [field]: other })) === 'mismatch';
    }),
  );
});

// ---------------------------------------------------------------------------------------------
// Status records

for (const state of ['up', 'stale', 'down'] as const) {
  test(`validateStatusRecord accepts state "${state}" with or without a reason`, (t) => {
    const bare = { venue: 'SIM', state };
    const withReason = { venue: 'SIM', state, reason: 'no tick for 5 s' };
    t.is(validateStatusRecord(simStatus, bare), bare);
    t.is(validateStatusRecord(simStatus, withReason), withReason);
  });
}

test('validateStatusRecord passes unknown fields through untouched', (t) => {
  const record = { venue: 'SIM', state: 'stale', reason: 'quiet', since: 1764070000123456, detail: { gap: 5 } };
  t.deepEqual(validateStatusRecord(simStatus, record), {
    venue: 'SIM', state: 'stale', reason: 'quiet', since: 1764070000123456, detail: { gap: 5 },
  });
});

test('property: validateStatusRecord accepts every generated valid status record', (t) => {
  holds(
    t,
    fc.property(segmentArb.chain((venue) => fc.tuple(fc.constant(venue), statusRecordArb(venue))), ([venue, record]) =>
      validateStatusRecord(parseTopic(`status.${venue}`), record) === record),
  );
});

const statusRejections: readonly Rejection[] = [
  { why: 'null', value: null, reason: 'record', mentions: ['null'] },
  { why: 'an array', value: [], reason: 'record', mentions: ['array'] },
  { why: 'a string', value: 'up', reason: 'record', mentions: ['string'] },
  { why: 'missing venue', value: { state: 'up' }, reason: 'record', mentions: ['venue'] },
  { why: 'for another venue', value: { venue: 'XNAS', state: 'up' }, reason: 'mismatch', mentions: ['venue', '"XNAS"', '"SIM"'] },
  { why: 'missing state', value: { venue: 'SIM' }, reason: 'record', mentions: ['state', 'missing'] },
  ...['UP', 'unknown', '', 1, null].map((bad) => ({
    why: `state ${JSON.stringify(bad)}`,
    value: { venue: 'SIM', state: bad },
    reason: 'record' as const,
    mentions: ['state', '"up", "stale" or "down"'],
  })),
  { why: 'a numeric reason', value: { venue: 'SIM', state: 'down', reason: 503 }, reason: 'record', mentions: ['reason', 'string'] },
];

for (const { why, value, reason, mentions } of statusRejections) {
  test(`validateStatusRecord rejects a status record that is ${why} (reason '${reason}')`, (t) => {
    throwsWire(t, () => validateStatusRecord(simStatus, value), reason, ...mentions);
  });
}

// ---------------------------------------------------------------------------------------------
// Trade records (PROTOCOL.md section 8)

const trade = { venue: 'XNYS', symbol: 'BRK.B', price: 471.25, size: 100, side: 'buy', tradeId: 'T-1' } as const;
const brkTrades = parseTopic('trade.XNYS.BRK.B');

test('validateTradeRecord accepts a trade, with or without exchTs, extra fields passed through', (t) => {
  for (const record of [{ ...trade }, { ...trade, side: 'sell', exchTs: 1764070000123456 }, { ...trade, size: 0, venueSeq: 7, flags: ['odd-lot'] }] satisfies TradeRecord[]) {
    t.is(validateTradeRecord(brkTrades, record), record);
  }
});

const { tradeId: _noId, ...tradeWithoutId } = trade;
const tradeRejections: readonly Rejection[] = [
  { why: 'null', value: null, reason: 'record', mentions: ['null'] },
  { why: 'for another symbol', value: { ...trade, symbol: 'BRK' }, reason: 'mismatch', mentions: ['symbol', '"BRK"'] },
  ...[NaN, Infinity, '471.25', null, undefined].map((bad) => ({
    why: `price ${String(bad)}`, value: { ...trade, price: bad }, reason: 'record' as const, mentions: ['price', 'finite number'],
  })),
  ...[-1, NaN, '1', undefined].map((bad) => ({
    why: `size ${String(bad)}`, value: { ...trade, size: bad }, reason: 'record' as const, mentions: ['size', '>= 0'],
  })),
  ...['BUY', 'bid', '', undefined, 1].map((bad) => ({
    why: `side ${JSON.stringify(bad)}`, value: { ...trade, side: bad }, reason: 'record' as const, mentions: ['side', '"buy" or "sell"'],
  })),
  ...['', 42, null].map((bad) => ({
    why: `tradeId ${JSON.stringify(bad)}`, value: { ...trade, tradeId: bad }, reason: 'record' as const, mentions: ['tradeId', 'non-empty string'],
  })),
  { why: 'missing tradeId', value: tradeWithoutId, reason: 'record', mentions: ['tradeId', 'missing'] },
  { why: 'a fractional exchTs', value: { ...trade, exchTs: 1.5 }, reason: 'record', mentions: ['exchTs', 'integer microseconds'] },
];

for (const { why, value, reason, mentions } of tradeRejections) {
  test(`validateTradeRecord rejects a trade that is ${why} (reason '${reason}')`, (t) => {
    throwsWire(t, () => validateTradeRecord(brkTrades, value), reason, ...mentions);
  });
}

test('encodeTradeRecord writes the fields in the order of PROTOCOL.md section 8, extra fields last', (t) => {
  const record = JSON.parse('{"note":"x","exchTs":5,"tradeId":"T-1","side":"sell","size":2,"price":3,"symbol":"X","venue":"SIM"}') as TradeRecord;
  t.is(encodeTradeRecord(record).toString('utf8'), '{"venue":"SIM","symbol":"X","price":3,"size":2,"side":"sell","tradeId":"T-1","exchTs":5,"note":"x"}');
});

test('validateRecord applies the rules of the topic\'s class: tick, book, trade, status', (t) => {
  const tick = { ...base, bid: 1 };
  const status = { venue: 'SIM', state: 'up' } as const;
  const book = { ...base, action: 'snapshot', bids: [[1, 2]], asks: [], checksum: 0 };
  t.is(validateRecord(brk, tick), tick);
  t.is(validateRecord(simStatus, status), status);
  t.is(validateRecord(brkTrades, trade), trade);
  t.is(validateRecord(parseTopic('book.XNYS.BRK.B'), book), book);
  throwsWire(t, () => validateRecord(simStatus, { venue: 'SIM', symbol: 'X', bid: 1 }), 'record', 'state');
  throwsWire(t, () => validateRecord(parseTopic('tick.SIM.X'), status), 'record', 'symbol');
  throwsWire(t, () => validateRecord(brkTrades, tick), 'record', 'price');
  throwsWire(t, () => validateRecord(parseTopic('book.XNYS.BRK.B'), trade), 'record', 'action');
});

// ---------------------------------------------------------------------------------------------
// Encoding

test('encodeTickRecord produces the example payload of PROTOCOL.md section 2 byte for byte', (t) => {
  t.is(encodeTickRecord(protocolExample).toString('utf8'), protocolExampleJson);
  const reversed = Object.fromEntries(Object.entries(protocolExample).reverse()) as TickRecord;
  t.is(encodeTickRecord(reversed).toString('utf8'), protocolExampleJson);
});

test('encodeTickRecord puts extra fields after the known ones, even integer-like and __proto__ keys', (t) => {
  const record = JSON.parse('{"7":1,"zeta":2,"__proto__":{"p":3},"status":"open","last":5,"symbol":"X","venue":"SIM"}');
  t.is(encodeTickRecord(record).toString('utf8'), '{"venue":"SIM","symbol":"X","last":5,"status":"open","7":1,"zeta":2,"__proto__":{"p":3}}');
});

test('encodeTickRecord omits fields whose value is undefined', (t) => {
  const record: TickRecord = { venue: 'SIM', symbol: 'X', bid: undefined, ask: 2, extra: undefined };
  t.is(encodeTickRecord(record).toString('utf8'), '{"venue":"SIM","symbol":"X","ask":2}');
});

test('property: encodeTickRecord emits known fields in protocol order, then the extras, whatever the input key order', (t) => {
  const inputArb = fc.tuple(segmentArb, symbolArb).chain(([venue, symbol]) =>
    fc.tuple(tickEntriesArb(venue, symbol), extrasArb).chain(([known, extras]) =>
      fc
        .tuple(fc.shuffledSubarray(known, { minLength: known.length, maxLength: known.length }), fc.array(fc.boolean()))
        .map(([shuffled, picks]) => ({ known, extras, entries: interleave(shuffled, extras, picks) })),
    ),
  );
  holds(
    t,
    fc.property(inputArb, ({ known, extras, entries }) => {
      const record = recordFrom<TickRecord>(entries);
      // Extras keep the order the input object lists them in (a JS object lists integer-like keys first).
      const extraKeys = Object.keys(record).filter((key) => extras.some(([extra]) => extra === key));
      const expectedKeys = [...known.map(([key]) => key), ...extraKeys];
      const json = encodeTickRecord(record).toString('utf8');
      const expected = `{${expectedKeys.map((key) => `${JSON.stringify(key)}:${JSON.stringify(record[key])}`).join(',')}}`;
      return json === expected;
    }),
  );
});

test('property: encodeTickRecord output parses back to the same fields and values', (t) => {
  holds(
    t,
    fc.property(tickEntriesArb('SIM', 'X'), extrasArb, (known, extras) => {
      const parsed = JSON.parse(encodeTickRecord(recordFrom([...extras, ...known])).toString('utf8'));
      const entries = [...known, ...extras];
      return Object.keys(parsed).length === entries.length
        && entries.every(([key, value]) => JSON.stringify(Object.getOwnPropertyDescriptor(parsed, key)?.value) === JSON.stringify(value));
    }),
  );
});

test('the field order the property tests expect is PROTOCOL.md section 2\'s: the example\'s fields, then open, high, low, close, status', (t) => {
  t.deepEqual(TICK_FIELD_ORDER, [...Object.keys(protocolExample), 'open', 'high', 'low', 'close', 'status']);
});

test('encodeStatusRecord serialises the status payload of PROTOCOL.md section 1', (t) => {
  t.is(
    encodeStatusRecord({ venue: 'SIM', state: 'stale', reason: 'no tick for 5 s' }).toString('utf8'),
    '{"venue":"SIM","state":"stale","reason":"no tick for 5 s"}',
  );
});

/** Merges two lists keeping each one's own order; `picks[i]` true takes the next item from `a`, false from `b`. */
function interleave<T>(a: readonly T[], b: readonly T[], picks: readonly boolean[]): T[] {
  const merged: T[] = [];
  let i = 0;
  let j = 0;
  for (const pick of picks) {
    if (pick && i < a.length) merged.push(a[i++]!);
    else if (!pick && j < b.length) merged.push(b[j++]!);
  }
  return [...merged, ...a.slice(i), ...b.slice(j)];
}
