import test from 'ava';
import fc from 'fast-check';
import {
  SnapshotRequestError, encodeErrorReply, encodePong, encodeRecordsReply, encodeSnapshotRequest, parseSnapshotReply, parseSnapshotRequest,
  FLAG_SNAPSHOT, WireError, type SnapshotRequest,
} from '../../src/wire/index.js';
import { holds, message } from '../snapshot/_helpers.js';

const TOPIC = 'tick.SIM.BTC-USD';
const MB = Buffer.alloc(1024 * 1024, 'A');

const frames = (...parts: (string | Buffer)[]): Buffer[] => parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : part));
const show = (body: readonly Buffer[]): string =>
  `[${body.map((f) => (f.length > 40 ? `<${f.length} bytes>` : JSON.stringify(f.toString('latin1')))).join(', ')}]`;

// ---------------------------------------------------------------- valid requests

const valid: [body: Buffer[], expected: SnapshotRequest][] = [
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
    t.deepEqual(parseSnapshotRequest(body), expected);
  });
}

test('property: any REPLAY of a valid topic, epoch and fromSeq round-trips through its ASCII decimal frames', (t) => {
  holds(t, fc.property(
    fc.integer({ min: 1, max: 0xffff_ffff }),
    fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    (epoch, fromSeq) => {
      const parsed = parseSnapshotRequest(frames('REPLAY', TOPIC, String(epoch), String(fromSeq)));
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
  ['a REPLAY topic of no known class', frames('REPLAY', 'quote.SIM.A', '1', '1'), ['none of tick.<venue>.<symbol>, book.<venue>.<symbol>, trade.<venue>.<symbol> or status.<venue>']],
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
    const err = t.throws(() => parseSnapshotRequest(body), { instanceOf: SnapshotRequestError });
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
      parseSnapshotRequest(body);
    } catch (err) {
      if (!(err instanceof SnapshotRequestError)) throw err;
      // Whatever bytes the request held, the text is safe to send back and to log.
      return /^[\x20-\x7e]{1,199}$/.test(err.message);
    }
    return true;
  }));
});

// ---------------------------------------------------------------- both sides

test('every request the client encodes parses back to itself on the service side', (t) => {
  const requests: SnapshotRequest[] = [
    { command: 'PING' }, { command: 'SNAPSHOT', prefix: '' }, { command: 'SNAPSHOT', prefix: 'tick.SIM.' },
    { command: 'REPLAY', topic: TOPIC, epoch: 0xffff_ffff, fromSeq: 1201 },
  ];
  for (const request of requests) t.deepEqual(parseSnapshotRequest(frames(...encodeSnapshotRequest(request))), request);
});

test('replies: records come back decoded with flag bit 0 set, the held header untouched; ERR and PONG round-trip', (t) => {
  const held = [message(TOPIC, 7, 3), message('tick.SIM.ETH-USD', 7, 9)];
  const reply = parseSnapshotReply(encodeRecordsReply(held.map((m) => m.frames)));
  t.is(reply.status, 'OK');
  if (reply.status !== 'OK') return;
  t.deepEqual(reply.records.map((r) => [r.topic, r.header.seq, r.header.flags & FLAG_SNAPSHOT]), [[TOPIC, 3, 1], ['tick.SIM.ETH-USD', 9, 1]]);
  t.is(held[0]!.frames[1][1], 0, 'the stored header keeps its live flags');
  t.deepEqual(parseSnapshotReply(encodeErrorReply('UNAVAILABLE', 'loading')), { status: 'ERR', code: 'UNAVAILABLE', text: 'loading' });
  t.deepEqual(parseSnapshotReply(encodePong()), { status: 'PONG' });
  t.deepEqual(parseSnapshotReply(encodeRecordsReply([])), { status: 'OK', records: [] });
});

const badReplies: [what: string, reply: Buffer[]][] = [
  ['nothing', []],
  ['an unknown status', frames('YES', '0')],
  ['OK without a count', frames('OK')],
  ['a count that is not decimal', frames('OK', '-1')],
  ['a count that disagrees with the frames', frames('OK', '2', TOPIC, 'h', '{}')],
  ['ERR with an unknown code', frames('ERR', 'NOPE', 'text')],
  ['ERR with a prototype name for a code', frames('ERR', 'toString', 'text')],
  ['ERR without a text', frames('ERR', 'GONE')],
  ['PONG with a frame after it', frames('PONG', 'x')],
];
for (const [what, reply] of badReplies) {
  test(`a malformed reply is a WireError naming it: ${what}`, (t) => {
    const err = t.throws(() => parseSnapshotReply(reply), { instanceOf: WireError });
    t.is(err.reason, 'reply');
    t.regex(err.message, /malformed snapshot reply/);
  });
}
