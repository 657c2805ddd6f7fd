import test from 'ava';
import { NatsParser, pubLine, subscribeLines, type NatsHandler } from '../../bench/fanout/nats-protocol.js';
import { natsInterestSubjects, natsSubjectOf } from '../../bench/fanout/instruments.js';
import { CheckTally, SampleCheck } from '../../bench/fanout/sample-check.js';
import { eventTs } from '../../bench/fanout/scan.js';

/** Every operation the parser reported, as text, in order. */
function recorder(): { handler: NatsHandler; seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    handler: {
      msg: (data, subjectStart, subjectEnd, payloadStart, payloadEnd) =>
        seen.push(`MSG ${data.toString('latin1', subjectStart, subjectEnd)} ${data.toString('utf8', payloadStart, payloadEnd)}`),
      ping: () => seen.push('PING'),
      pong: () => seen.push('PONG'),
      info: (json) => seen.push(`INFO ${json}`),
      error: (message) => seen.push(`ERR ${message}`),
    },
  };
}

const tick = (seq: number): string => `{"type":"tick","topic":"tick.BENCH.G07-S0107","epoch":7,"seq":${seq},"ts":${1_764_070_000_000_000 + seq},"data":{"bid":1}}`;

/** A stream as nats-server sends it to a subscriber: MSGs with and without reply-to, an empty payload, a payload holding CRLF. */
const STREAM = Buffer.from(
  'INFO {"server_id":"x","max_payload":1048576}\r\n' +
  `MSG tick.BENCH.G07.S0107 1 ${tick(1).length}\r\n${tick(1)}\r\n` +
  'PING\r\n' +
  `MSG tick.BENCH.G07.S0107 1 reply.to ${tick(2).length}\r\n${tick(2)}\r\n` +
  '+OK\r\n' +
  'MSG empty.payload 22 0\r\n\r\n' +
  'MSG with.crlf 3 6\r\nab\r\ncd\r\n' +
  "-ERR 'Slow Consumer'\r\n" +
  'PONG\r\n',
);

const EXPECTED = [
  'INFO {"server_id":"x","max_payload":1048576}',
  `MSG tick.BENCH.G07.S0107 ${tick(1)}`,
  'PING',
  `MSG tick.BENCH.G07.S0107 ${tick(2)}`,
  'MSG empty.payload ',
  'MSG with.crlf ab\r\ncd',
  "ERR 'Slow Consumer'",
  'PONG',
];

test('a stream in one chunk: every operation, MSG payloads whole, +OK skipped', (t) => {
  const { handler, seen } = recorder();
  new NatsParser(handler).push(STREAM, 0, STREAM.length);
  t.deepEqual(seen, EXPECTED);
});

test('a stream cut in two at every byte: the same operations, whatever the cut splits (line, CRLF, payload)', (t) => {
  for (let cut = 1; cut < STREAM.length; cut++) {
    const { handler, seen } = recorder();
    const parser = new NatsParser(handler);
    // Each chunk in a buffer of its own that is then overwritten: the parser must not keep ranges of it.
    const first = Buffer.from(STREAM.subarray(0, cut));
    parser.push(first, 0, first.length);
    first.fill(0x58);
    const second = Buffer.from(STREAM.subarray(cut));
    parser.push(second, 0, second.length);
    t.deepEqual(seen, EXPECTED, `cut at byte ${cut}`);
  }
});

test('a stream one byte at a time, and chunks given as ranges of a larger buffer', (t) => {
  const bytewise = recorder();
  const parser = new NatsParser(bytewise.handler);
  for (let i = 0; i < STREAM.length; i++) parser.push(STREAM, i, i + 1);
  t.deepEqual(bytewise.seen, EXPECTED);

  const ranged = recorder();
  const framed = Buffer.concat([Buffer.from('HEADER'), STREAM, Buffer.from('TRAILER')]);
  const rangedParser = new NatsParser(ranged.handler);
  const middle = 6 + 100;
  rangedParser.push(framed, 6, middle);
  rangedParser.push(framed, middle, 6 + STREAM.length);
  t.deepEqual(ranged.seen, EXPECTED);
});

test('a MSG longer than the parser\'s first pending buffer, cut in many chunks', (t) => {
  const payload = 'x'.repeat(10_000);
  const stream = Buffer.from(`MSG big 1 ${payload.length}\r\n${payload}\r\nPING\r\n`);
  const { handler, seen } = recorder();
  const parser = new NatsParser(handler);
  for (let at = 0; at < stream.length; at += 777) parser.push(stream, at, Math.min(stream.length, at + 777));
  t.deepEqual(seen, [`MSG big ${payload}`, 'PING']);
});

test('broken streams throw errors that name what was wrong', (t) => {
  const parse = (text: string): void => {
    const { handler } = recorder();
    const data = Buffer.from(text);
    new NatsParser(handler).push(data, 0, data.length);
  };
  t.throws(() => parse('HELLO\r\n'), { message: /unknown NATS operation: "HELLO"/ });
  t.throws(() => parse('MSG subject 5\r\nhello\r\n'), { message: /malformed NATS MSG line/ });
  t.throws(() => parse('MSG subject 1 abc\r\nhello\r\n'), { message: /malformed NATS MSG line/ });
  t.throws(() => parse('MSG subject 1 3\r\nhello\r\n'), { message: /not followed by CRLF/ });
  t.throws(() => parse('x'.repeat(70_000)), { message: /longer than 65536 bytes/ });
});

test('what the clients and the feed send: CONNECT, SUBs with sids, PING; PUB with the byte count', (t) => {
  const lines = subscribeLines(['tick.>', 'tick.BENCH.G07.*']).split('\r\n');
  t.regex(lines[0]!, /^CONNECT \{.*"verbose":false.*\}$/);
  t.deepEqual(lines.slice(1), ['SUB tick.> 1', 'SUB tick.BENCH.G07.* 2', 'PING', '']);
  t.is(pubLine('tick.BENCH.G07.S0107', tick(3)), `PUB tick.BENCH.G07.S0107 ${tick(3).length}\r\n${tick(3)}\r\n`);
});

test('NATS subjects: the group is a token of its own, so group wildcards select what tickfan patterns select', (t) => {
  t.is(natsSubjectOf('tick.BENCH.G07-S0107'), 'tick.BENCH.G07.S0107');
  t.deepEqual(natsInterestSubjects(0, 1), ['tick.>']);
  t.deepEqual(natsInterestSubjects(7, 0.02), ['tick.BENCH.G07.*', 'tick.BENCH.G57.*']);
});

test('eventTs reads the ts of one event, and -1 without one', (t) => {
  const data = Buffer.from(`xx${tick(5)}yy`);
  t.is(eventTs(data, 2, data.length - 2), 1_764_070_000_000_005);
  const noTs = Buffer.from('{"type":"tick","exchTs":5}');
  t.is(eventTs(noTs, 0, noTs.length), -1);
});

test('the sample check: seqs per topic must go up, fields must be there; a snapshot may repeat the latest seq', (t) => {
  const tally = new CheckTally();
  const check = new SampleCheck(tally);
  check.frame(`[${tick(1)},${tick(2)}]`);
  check.message(tick(3), 'tick.BENCH.G07.S0107', natsSubjectOf);
  check.frame(`[{"type":"snapshot","topic":"tick.BENCH.G07-S0107","epoch":7,"seq":3,"ts":1,"data":{}},{"type":"heartbeat","ts":1}]`);
  t.deepEqual({ checked: tally.checked, invalid: tally.invalid }, { checked: 5, invalid: 0 });
  check.frame(`[${tick(3)}]`);
  t.is(tally.invalid, 1);
  t.regex(tally.problem!, /tick seq 3 after seq 3/);
  check.message(tick(9), 'tick.OTHER', natsSubjectOf);
  check.frame('[{"type":"tick","topic":"tick.BENCH.G07-S0107","epoch":7,"ts":1,"data":{}}]');
  check.frame('not json');
  t.is(tally.invalid, 4);
});

test('the sample is one frame or message in 32, clients starting at different points', (t) => {
  const check = new SampleCheck(new CheckTally());
  const sampled: number[] = [];
  for (let i = 0; i < 3_200; i++) if (check.due()) sampled.push(i);
  t.is(sampled.length, 100);
  t.true(sampled.slice(1).every((at, k) => at - sampled[k]! === 32));
  const firsts = new Set(Array.from({ length: 200 }, () => {
    const other = new SampleCheck(new CheckTally());
    let i = 0;
    while (!other.due()) i++;
    return i;
  }));
  t.true(firsts.size > 10, `first samples at ${[...firsts].join(', ')}`);
});
