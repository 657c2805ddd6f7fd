import test from 'ava';
import fc from 'fast-check';
import { BadRequest, parseRequest, splitEnvelope, type Request } from '../../src/snapshot/requests.js';
import { holds } from './_helpers.js';

const TOPIC = 'tick.SIM.BTC-USD';
const MB = Buffer.alloc(1024 * 1024, 'A');

const frames = (...parts: (string | Buffer)[]): Buffer[] => parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : part));
const show = (body: readonly Buffer[]): string =>
  `[${body.map((f) => (f.length > 40 ? `<${f.length} bytes>` : JSON.stringify(f.toString('latin1')))).join(', ')}]`;

// ---------------------------------------------------------------- valid requests

const valid: [body: Buffer[], expected: Request][] = [
  [frames('PING'), { command: 'PING' }],
  [frames('SNAPSHOT', ''), { command: 'SNAPSHOT', prefix: '' }],
  [frames('SNAPSHOT', 'tick.SIM.'), { command: 'SNAPSHOT', prefix: 'tick.SIM.' }],
  [frames('SNAPSHOT', 'x'.repeat(200)), { command: 'SNAPSHOT', prefix: 'x'.repeat(200) }],
  [frames('REPLAY', TOPIC, '1', '1'), { command: 'REPLAY', topic: TOPIC, epoch: 1, fromSeq: 1 }],
  [frames('REPLAY', 'status.SIM', '3735928559', '1201'), { command: 'REPLAY', topic: 'status.SIM', epoch: 3735928559, fromSeq: 1201 }],
  [frames('REPLAY', TOPIC, '4294967295', '9007199254740991'), { command: 'REPLAY', topic: TOPIC, epoch: 0xffff_ffff, fromSeq: Number.MAX_SAFE_INTEGER }],
];

for (const [body, expected] of valid) {
  test(`parses ${show(body)}`, (t) => {
    t.deepEqual(parseRequest(body), expected);
  });
}

test('property: any REPLAY of a valid topic, epoch and fromSeq round-trips through its ASCII decimal frames', (t) => {
  holds(t, fc.property(
    fc.integer({ min: 1, max: 0xffff_ffff }),
    fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    (epoch, fromSeq) => {
      const parsed = parseRequest(frames('REPLAY', TOPIC, String(epoch), String(fromSeq)));
      return parsed.command === 'REPLAY' && parsed.epoch === epoch && parsed.fromSeq === fromSeq;
    },
  ));
});

// ---------------------------------------------------------------- malformed requests

/** A malformed body and the words its BadRequest message must contain. */
const malformed: [what: string, body: Buffer[], mentions: string[]][] = [
  ['no frames at all', [], ['empty request', 'SNAPSHOT, REPLAY or PING']],
  // wrong frame counts, per command
  ['PING with an extra frame', frames('PING', 'x'), ['PING takes 1', 'got 2']],
  ['PING with an empty extra frame', frames('PING', ''), ['PING takes 1', 'got 2']],
  ['SNAPSHOT without a prefix', frames('SNAPSHOT'), ['SNAPSHOT takes 2 frames', 'got 1']],
  ['SNAPSHOT with two prefixes', frames('SNAPSHOT', 'tick.', 'status.'), ['SNAPSHOT takes 2 frames', 'got 3']],
  ['REPLAY alone', frames('REPLAY'), ['REPLAY takes 4 frames', 'got 1']],
  ['REPLAY without fromSeq', frames('REPLAY', TOPIC, '1'), ['REPLAY takes 4 frames', 'got 3']],
  ['REPLAY with a fifth frame', frames('REPLAY', TOPIC, '1', '1', '1'), ['REPLAY takes 4 frames', 'got 5']],
  // unknown commands
  ['an unknown command', frames('HELLO'), ['unknown command "HELLO"', 'SNAPSHOT, REPLAY or PING']],
  ['a lower-case command', frames('ping'), ['unknown command "ping"']],
  ['a command with a trailing space', frames('PING '), ['unknown command "PING "']],
  ['an empty command frame', frames(''), ['unknown command ""']],
  ['an empty command frame before a valid one', frames('', 'PING'), ['unknown command ""']],
  ['a binary command', [Buffer.from([0xff, 0x00, 0x22])], ['unknown command "\\xff\\x00\\x22"']],
  ['a long unknown command', frames('X'.repeat(100)), [`unknown command "${'X'.repeat(32)}"...`]],
  // 1 MB frames, wherever they are
  ['a 1 MB command frame', [MB], ['frame 0 is 1048576 bytes', 'at most 256']],
  ['a 1 MB prefix', frames('SNAPSHOT', MB), ['frame 1 is 1048576 bytes']],
  ['a 1 MB REPLAY topic', frames('REPLAY', MB, '1', '1'), ['frame 1 is 1048576 bytes']],
  ['a 1 MB fromSeq', frames('REPLAY', TOPIC, '1', MB), ['frame 3 is 1048576 bytes']],
  ['a 1 MB extra frame after PING', frames('PING', MB), ['frame 1 is 1048576 bytes']],
  // prefixes
  ['a non-ASCII prefix', frames('SNAPSHOT', 'tick.SIM.€'), ['prefix is not printable ASCII']],
  ['a prefix with a NUL byte', frames('SNAPSHOT', 'tick.\0'), ['prefix is not printable ASCII']],
  ['a prefix with a newline', frames('SNAPSHOT', 'tick.\n'), ['prefix is not printable ASCII']],
  ['a prefix longer than any topic', frames('SNAPSHOT', 'x'.repeat(201)), ['prefix is 201 bytes', 'at most 200']],
  // REPLAY topics
  ['an empty REPLAY topic', frames('REPLAY', '', '1', '1'), ['topic is empty']],
  ['a REPLAY topic with an empty segment', frames('REPLAY', 'tick..BTC', '1', '1'), ['empty segment']],
  ['a REPLAY topic without a symbol', frames('REPLAY', 'tick.SIM', '1', '1'), ['not tick.<venue>.<symbol>']],
  ['a REPLAY topic of no known class', frames('REPLAY', 'quote.SIM.A', '1', '1'), ['neither tick.<venue>.<symbol> nor status.<venue>']],
  ['a REPLAY topic with a space', frames('REPLAY', 'tick.SIM.BTC USD', '1', '1'), ['character outside']],
  ['a non-ASCII REPLAY topic', frames('REPLAY', 'tick.SIM.BTC-€', '1', '1'), ['topic is not printable ASCII']],
  ['a REPLAY topic longer than 200 bytes', frames('REPLAY', `tick.SIM.${'A'.repeat(192)}`, '1', '1'), ['topic is 201 bytes']],
];

/** Numbers that are not an ASCII decimal in range, for both epoch and fromSeq, and how the error text shows them. */
const badNumbers: [what: string, text: string, shown: string][] = [
  ['empty', '', '""'],
  ['non-numeric', 'abc', '"abc"'],
  ['negative', '-1', '"-1"'],
  ['zero', '0', '"0"'],
  ['signed', '+1', '"+1"'],
  ['fractional', '1.5', '"1.5"'],
  ['exponent', '1e3', '"1e3"'],
  ['hexadecimal', '0x10', '"0x10"'],
  ['padded with a space', ' 1', '" 1"'],
  ['followed by a newline', '1\n', '"1\\x0a"'],
  ['huge', '99999999999999999999999', '"99999999999999999999999"'],
  ['non-ASCII digits', '١٢', '"\\xd9\\xa1\\xd9\\xa2"'],
];

for (const [what, text, shown] of badNumbers) {
  malformed.push([`a ${what} epoch`, frames('REPLAY', TOPIC, text, '1'), [`epoch ${shown}`, 'not an ASCII decimal from 1 to 4294967295']]);
  malformed.push([`a ${what} fromSeq`, frames('REPLAY', TOPIC, '1', text), [`fromSeq ${shown}`, 'not an ASCII decimal from 1 to 9007199254740991']]);
}
malformed.push(['an epoch of 2^32', frames('REPLAY', TOPIC, '4294967296', '1'), ['epoch "4294967296"', 'from 1 to 4294967295']]);
malformed.push(['a fromSeq of 2^53', frames('REPLAY', TOPIC, '1', '9007199254740992'), ['fromSeq "9007199254740992"', 'from 1 to 9007199254740991']]);

for (const [what, body, mentions] of malformed) {
  test(`BAD_REQUEST: ${what}`, (t) => {
    const err = t.throws(() => parseRequest(body), { instanceOf: BadRequest });
    for (const text of mentions) t.true(err.message.includes(text), `${JSON.stringify(err.message)} mentions ${JSON.stringify(text)}`);
    t.regex(err.message, /^[\x20-\x7e]{1,199}$/, 'short printable ASCII, whatever the request held');
  });
}

test('property: parseRequest never throws anything but BadRequest, and a BadRequest message is short printable ASCII', (t) => {
  const frameArb = fc.oneof(
    fc.constantFrom('PING', 'SNAPSHOT', 'REPLAY', '', TOPIC, '1', '0').map((s) => Buffer.from(s)),
    fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
    fc.string({ maxLength: 20 }).map((s) => Buffer.from(s)),
  );
  holds(t, fc.property(fc.array(frameArb, { maxLength: 6 }), (body) => {
    try {
      parseRequest(body);
    } catch (err) {
      if (!(err instanceof BadRequest)) throw err;
      // Whatever bytes the request held, the text is safe to send back and to log.
      return /^[\x20-\x7e]{1,199}$/.test(err.message);
    }
    return true;
  }));
});

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
