import test from 'ava';
import { splitEnvelope } from '../../src/snapshot/envelope.js';

const TOPIC = 'tick.SIM.BTC-USD';
const frames = (...parts: string[]): Buffer[] => parts.map((part) => Buffer.from(part));

// ---------------------------------------------------------------- splitEnvelope

const id = Buffer.from([0, 0x80, 0, 0, 0x29]); // the shape of a routing id a ROUTER assigns
const id2 = Buffer.from([0, 0x80, 0, 0, 0x2a]);
const empty = Buffer.alloc(0);

const envelopes: [what: string, message: Buffer[], expected: { envelope: Buffer[]; body: Buffer[] } | undefined][] = [
  ['a REQ request: id, delimiter, body', [id, empty, ...frames('PING')], { envelope: [id, empty], body: frames('PING') }],
  ['a request through a proxy: two ids', [id, id2, empty, ...frames('SNAPSHOT', 'tick.')], { envelope: [id, id2, empty], body: frames('SNAPSHOT', 'tick.') }],
  ['an empty prefix is body, not a delimiter', [id, empty, ...frames('SNAPSHOT', '')], { envelope: [id, empty], body: frames('SNAPSHOT', '') }],
  ['an empty body after the delimiter', [id, empty], { envelope: [id, empty], body: [] }],
  ['a DEALER that omits the delimiter (PING)', [id, ...frames('PING')], undefined],
  ['a DEALER that omits the delimiter, SNAPSHOT of a prefix', [id, ...frames('SNAPSHOT', 'tick.')], undefined],
  ['a DEALER that omits the delimiter, SNAPSHOT of everything (the empty prefix is no delimiter)', [id, ...frames('SNAPSHOT', '')], undefined],
  ['a DEALER that omits the delimiter, REPLAY with an empty epoch', [id, ...frames('REPLAY', TOPIC, '', '1')], undefined],
  ['a message without a routing id', [empty, ...frames('PING')], undefined],
];

for (const [what, message, expected] of envelopes) {
  test(`splitEnvelope: ${what}`, (t) => {
    t.deepEqual(splitEnvelope(message), expected);
  });
}
