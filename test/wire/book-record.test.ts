import test from 'ava';
import { encodeBookRecord, parseTopic, validateBookRecord, type BookRecord } from '../../src/wire/index.js';
import { throwsWire } from './_helpers.js';

const btc = parseTopic('book.SIM.BTC-USD');

/** The two examples of PROTOCOL.md section 8 (exchTs filled in). */
const snapshotExample: BookRecord = {
  venue: 'SIM', symbol: 'BTC-USD', action: 'snapshot', bids: [[64000.5, 1.2], [64000, 3]], asks: [[64001, 0.5]], checksum: 1234567890, exchTs: 1764070000123456,
};
const updateExample: BookRecord = {
  venue: 'SIM', symbol: 'BTC-USD', action: 'update', bids: [[64000.5, 0]], asks: [[64001, 0.7], [64002, 1]], checksum: 987654321, exchTs: 1764070000123457,
};

test('validateBookRecord accepts the snapshot and update examples of PROTOCOL.md section 8 and returns them unchanged', (t) => {
  for (const example of [snapshotExample, updateExample]) {
    const copy = structuredClone(example);
    t.is(validateBookRecord(btc, example), example);
    t.deepEqual(example, copy);
  }
});

test('validateBookRecord accepts empty sides, checksums 0 and 2^32-1, no exchTs, and passes extra fields through', (t) => {
  const accepted: BookRecord[] = [
    { ...snapshotExample, bids: [], asks: [], checksum: 0 },
    { ...updateExample, bids: [], asks: [], checksum: 2 ** 32 - 1 },
    { venue: 'SIM', symbol: 'BTC-USD', action: 'update', bids: [[1, 0]], asks: [], checksum: 7, resync: true },
  ];
  for (const record of accepted) t.is(validateBookRecord(btc, record), record);
});

const rejections: readonly { why: string; value: unknown; reason: 'record' | 'mismatch'; mentions: string[] }[] = [
  { why: 'an array', value: [snapshotExample], reason: 'record', mentions: ['array'] },
  { why: 'for another venue', value: { ...snapshotExample, venue: 'XNAS' }, reason: 'mismatch', mentions: ['venue', '"XNAS"'] },
  ...['delta', 'Snapshot', undefined, 1].map((bad) => ({
    why: `action ${JSON.stringify(bad)}`, value: { ...snapshotExample, action: bad }, reason: 'record' as const, mentions: ['action', '"snapshot" or "update"'],
  })),
  { why: 'missing bids', value: { ...snapshotExample, bids: undefined }, reason: 'record', mentions: ['field bids is missing', 'array of [price, size]'] },
  { why: 'asks an object', value: { ...snapshotExample, asks: {} }, reason: 'record', mentions: ['field asks is {}'] },
  { why: 'a level of one number', value: { ...updateExample, asks: [[64001, 0.7], [64002]] }, reason: 'record', mentions: ['asks[1]', '[price, size] pair'] },
  { why: 'a level of three numbers', value: { ...updateExample, bids: [[1, 2, 3]] }, reason: 'record', mentions: ['bids[0]', '[price, size] pair'] },
  { why: 'a level that is an object', value: { ...updateExample, bids: [{ price: 1, size: 2 }] }, reason: 'record', mentions: ['bids[0]'] },
  ...[NaN, Infinity, '64000', null].map((bad) => ({
    why: `a price ${String(bad)}`, value: { ...updateExample, bids: [[64001, 1], [bad, 1]] }, reason: 'record' as const, mentions: ['bids[1] price', 'finite number'],
  })),
  ...[-1, -Number.MIN_VALUE, NaN, '1', null].map((bad) => ({
    why: `a size ${String(bad)}`, value: { ...updateExample, asks: [[64001, bad]] }, reason: 'record' as const, mentions: ['asks[0] size', '>= 0'],
  })),
  { why: 'a snapshot with a size-0 level', value: { ...snapshotExample, bids: [[64000.5, 1.2], [64000, 0]] }, reason: 'record', mentions: ['bids[1] size is 0', 'a snapshot lists only the levels held'] },
  { why: 'bids ascending', value: { ...snapshotExample, bids: [[64000, 3], [64000.5, 1.2]] }, reason: 'record', mentions: ['bids[1] price 64000.5 is not below bids[0]\'s 64000', 'best first'] },
  { why: 'asks descending', value: { ...updateExample, asks: [[64002, 1], [64001, 0.7]] }, reason: 'record', mentions: ['asks[1] price 64001 is not above asks[0]\'s 64002'] },
  { why: 'a price twice in one side', value: { ...updateExample, asks: [[64001, 0.7], [64002, 1], [64002, 2]] }, reason: 'record', mentions: ['asks[2]', 'one level per price'] },
  ...[-1, 2 ** 32, 1.5, '1234567890', null, undefined].map((bad) => ({
    why: `checksum ${String(bad)}`, value: { ...snapshotExample, checksum: bad }, reason: 'record' as const, mentions: ['checksum', 'unsigned 32-bit integer'],
  })),
  { why: 'a negative exchTs', value: { ...snapshotExample, exchTs: -1 }, reason: 'record', mentions: ['exchTs', 'integer microseconds'] },
];

for (const { why, value, reason, mentions } of rejections) {
  test(`validateBookRecord rejects a record with ${why} (reason '${reason}')`, (t) => {
    throwsWire(t, () => validateBookRecord(btc, value), reason, ...mentions);
  });
}

test('encodeBookRecord writes the fields in the order of PROTOCOL.md section 8, extra fields last', (t) => {
  const expected = '{"venue":"SIM","symbol":"BTC-USD","action":"snapshot","bids":[[64000.5,1.2],[64000,3]],"asks":[[64001,0.5]],"checksum":1234567890,"exchTs":1764070000123456}';
  t.is(encodeBookRecord(snapshotExample).toString('utf8'), expected);
  const reversed = Object.fromEntries([['resync', true], ...Object.entries(snapshotExample).reverse()]) as BookRecord;
  t.is(encodeBookRecord(reversed).toString('utf8'), `${expected.slice(0, -1)},"resync":true}`);
});
