import test from 'ava';
import fc from 'fast-check';
import { TOPIC_MAX_BYTES, isSegment, parseTopic, statusTopic, tickTopic, topicProblem } from '../../src/wire/index.js';
import { SEGMENT_CHARS, holds, segmentArb, symbolArb, throwsWire } from './_helpers.js';

const validTopics = [
  { topic: 'tick.SIM.BTC-USD', parsed: { kind: 'tick', venue: 'SIM', symbol: 'BTC-USD' } },
  { topic: 'tick.XNAS.AAPL', parsed: { kind: 'tick', venue: 'XNAS', symbol: 'AAPL' } },
  { topic: 'tick.XNYS.BRK.B', parsed: { kind: 'tick', venue: 'XNYS', symbol: 'BRK.B' } },
  { topic: 'tick.V.a.b.c', parsed: { kind: 'tick', venue: 'V', symbol: 'a.b.c' } },
  { topic: 'tick.CME:1.ES/Z5+=^_-', parsed: { kind: 'tick', venue: 'CME:1', symbol: 'ES/Z5+=^_-' } },
  { topic: 'tick.tick.status', parsed: { kind: 'tick', venue: 'tick', symbol: 'status' } },
  { topic: 'status.SIM', parsed: { kind: 'status', venue: 'SIM', symbol: '' } },
  { topic: 'status.x', parsed: { kind: 'status', venue: 'x', symbol: '' } },
] as const;

for (const { topic, parsed } of validTopics) {
  test(`accepts ${topic} as ${parsed.kind} venue ${JSON.stringify(parsed.venue)} symbol ${JSON.stringify(parsed.symbol)}`, (t) => {
    t.is(topicProblem(topic), undefined);
    t.deepEqual(parseTopic(topic), parsed);
  });
}

/** A tick topic of exactly `bytes` bytes. */
const tickTopicOfLength = (bytes: number) => `tick.SIM.${'A'.repeat(bytes - 'tick.SIM.'.length)}`;

test(`accepts a topic of exactly ${TOPIC_MAX_BYTES} bytes`, (t) => {
  const topic = tickTopicOfLength(TOPIC_MAX_BYTES);
  t.is(Buffer.byteLength(topic), 200);
  t.is(topicProblem(topic), undefined);
  t.is(parseTopic(topic).symbol.length, 200 - 'tick.SIM.'.length);
});

const invalidTopics: readonly { why: string; topic: string; mentions: string }[] = [
  { why: 'it is empty', topic: '', mentions: 'empty' },
  { why: 'it is 201 bytes', topic: tickTopicOfLength(201), mentions: '201 bytes' },
  { why: 'it is far too long', topic: tickTopicOfLength(5000), mentions: 'at most 200' },
  { why: 'it has an empty venue segment', topic: 'tick..AAPL', mentions: 'empty segment' },
  { why: 'it has an empty segment inside the symbol', topic: 'tick.XNYS.BRK..B', mentions: 'empty segment' },
  { why: 'it starts with a dot', topic: '.tick.SIM.X', mentions: 'empty segment' },
  { why: 'it ends with a dot', topic: 'tick.SIM.X.', mentions: 'empty segment' },
  { why: 'it is a single dot', topic: '.', mentions: 'empty segment' },
  { why: 'it contains a space', topic: 'tick.SIM.BTC USD', mentions: '"tick.SIM.BTC USD"' },
  { why: 'it contains a non-ASCII letter', topic: 'tick.SIM.CAFÉ', mentions: 'character outside' },
  { why: 'it contains an emoji', topic: 'tick.SIM.🚀', mentions: 'character outside' },
  { why: 'it contains a wildcard', topic: 'tick.SIM.*', mentions: 'character outside' },
  { why: 'it contains a comma', topic: 'tick.SIM.A,B', mentions: 'character outside' },
  { why: 'it contains a NUL byte', topic: 'tick.SIM.A\0', mentions: 'character outside' },
  { why: 'it ends with a newline', topic: 'tick.SIM.A\n', mentions: 'character outside' },
  { why: 'it contains a tab', topic: 'tick.SIM\t.A', mentions: 'character outside' },
  { why: 'its class is unknown (quote)', topic: 'quote.X.Y', mentions: 'neither tick.<venue>.<symbol> nor status.<venue>' },
  { why: 'its class is upper case', topic: 'TICK.SIM.X', mentions: 'neither' },
  { why: 'its class is a near miss (ticks)', topic: 'ticks.SIM.X', mentions: 'neither' },
  { why: 'it is a bare class name (tick)', topic: 'tick', mentions: 'neither' },
  { why: 'it is a bare class name (status)', topic: 'status', mentions: 'neither' },
  { why: 'it is a tick topic without a symbol', topic: 'tick.SIM', mentions: 'tick.<venue>.<symbol>' },
  { why: 'it is a status topic with an extra segment', topic: 'status.SIM.X', mentions: 'status.<venue>' },
];

for (const { why, topic, mentions } of invalidTopics) {
  test(`rejects a topic when ${why}`, (t) => {
    const problem = topicProblem(topic);
    t.is(typeof problem, 'string');
    const err = throwsWire(t, () => parseTopic(topic), 'topic', mentions);
    t.is(problem, err.message);
  });
}

test('isSegment accepts exactly the segment alphabet, one or more characters, no dots', (t) => {
  t.true(isSegment(SEGMENT_CHARS));
  for (const bad of ['', 'BRK.B', '.', 'A B', 'É', '*', 'a\n']) t.false(isSegment(bad), JSON.stringify(bad));
});

test('tickTopic and statusTopic build the topics of PROTOCOL.md section 1', (t) => {
  t.is(tickTopic('XNYS', 'BRK.B'), 'tick.XNYS.BRK.B');
  t.is(statusTopic('SIM'), 'status.SIM');
});

test('property: tickTopic(venue, symbol) parses back to the same venue and symbol and rebuilds the same topic', (t) => {
  holds(
    t,
    fc.property(segmentArb, symbolArb, (venue, symbol) => {
      const topic = tickTopic(venue, symbol);
      const parsed = parseTopic(topic);
      return parsed.kind === 'tick' && parsed.venue === venue && parsed.symbol === symbol && tickTopic(parsed.venue, parsed.symbol) === topic;
    }),
  );
});

test('property: statusTopic(venue) parses back to the same venue', (t) => {
  holds(
    t,
    fc.property(segmentArb, (venue) => {
      const parsed = parseTopic(statusTopic(venue));
      return parsed.kind === 'status' && parsed.venue === venue && parsed.symbol === '' && statusTopic(parsed.venue) === statusTopic(venue);
    }),
  );
});

test('property: a string of valid segments is a topic exactly when it is tick.<venue>.<symbol...> or status.<venue>', (t) => {
  const firstSegment = fc.oneof(fc.constantFrom('tick', 'status'), segmentArb);
  const segmentsArb = fc.tuple(firstSegment, fc.array(segmentArb, { maxLength: 5 })).map(([first, rest]) => [first, ...rest]);
  holds(
    t,
    fc.property(segmentsArb, (segments) => {
      const topic = segments.join('.');
      const [kind, venue, ...symbol] = segments;
      const expectValid = (kind === 'tick' && segments.length >= 3) || (kind === 'status' && segments.length === 2);
      if (!expectValid) return topicProblem(topic) !== undefined;
      const parsed = parseTopic(topic);
      const rebuilt = parsed.kind === 'tick' ? tickTopic(parsed.venue, parsed.symbol) : statusTopic(parsed.venue);
      return parsed.kind === kind && parsed.venue === venue && parsed.symbol === symbol.join('.') && rebuilt === topic;
    }),
  );
});

test('property: inserting any character outside the alphabet (other than a dot) makes a valid topic invalid', (t) => {
  const badChar = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => c !== '.' && !SEGMENT_CHARS.includes(c));
  holds(
    t,
    fc.property(segmentArb, symbolArb, badChar, fc.nat(), (venue, symbol, bad, at) => {
      const topic = tickTopic(venue, symbol);
      const position = at % (topic.length + 1);
      const broken = topic.slice(0, position) + bad + topic.slice(position);
      return topicProblem(broken) !== undefined;
    }),
  );
});
