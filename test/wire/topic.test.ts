import test from 'ava';
import fc from 'fast-check';
import { INSTRUMENT_CLASSES, TOPIC_MAX_BYTES, bookTopic, isSegment, parseTopic, statusTopic, tickTopic, topicProblem, tradeTopic } from '../../src/wire/index.js';
import { SEGMENT_CHARS, holds, segmentArb, symbolArb, throwsWire } from './_helpers.js';

const validTopics = [
  { topic: 'tick.SIM.BTC-USD', parsed: { kind: 'tick', venue: 'SIM', symbol: 'BTC-USD' } },
  { topic: 'tick.XNAS.AAPL', parsed: { kind: 'tick', venue: 'XNAS', symbol: 'AAPL' } },
  { topic: 'tick.XNYS.BRK.B', parsed: { kind: 'tick', venue: 'XNYS', symbol: 'BRK.B' } },
  { topic: 'tick.V.a.b.c', parsed: { kind: 'tick', venue: 'V', symbol: 'a.b.c' } },
  { topic: 'tick.CME:1.ES/Z5+=^_-', parsed: { kind: 'tick', venue: 'CME:1', symbol: 'ES/Z5+=^_-' } },
  { topic: 'tick.tick.status', parsed: { kind: 'tick', venue: 'tick', symbol: 'status' } },
  { topic: 'book.SIM.BTC-USD', parsed: { kind: 'book', venue: 'SIM', symbol: 'BTC-USD' } },
  { topic: 'book.XNYS.BRK.B', parsed: { kind: 'book', venue: 'XNYS', symbol: 'BRK.B' } },
  { topic: 'trade.SIM.BTC-USD', parsed: { kind: 'trade', venue: 'SIM', symbol: 'BTC-USD' } },
  { topic: 'trade.book.tick', parsed: { kind: 'trade', venue: 'book', symbol: 'tick' } },
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
  { why: 'its class is unknown (quote)', topic: 'quote.X.Y', mentions: 'none of tick.<venue>.<symbol>, book.<venue>.<symbol>, trade.<venue>.<symbol> or status.<venue>' },
  { why: 'its class is upper case', topic: 'TICK.SIM.X', mentions: 'none of' },
  { why: 'its class is a near miss (ticks)', topic: 'ticks.SIM.X', mentions: 'none of' },
  { why: 'it is a bare class name (tick)', topic: 'tick', mentions: 'none of' },
  { why: 'it is a bare class name (status)', topic: 'status', mentions: 'none of' },
  { why: 'its class is a near miss (books)', topic: 'books.SIM.X', mentions: 'none of' },
  { why: 'its class is a near miss (trades)', topic: 'trades.SIM.X', mentions: 'none of' },
  { why: 'it is a bare class name (book)', topic: 'book', mentions: 'none of' },
  { why: 'it is a tick topic without a symbol', topic: 'tick.SIM', mentions: 'tick topic "tick.SIM" is not tick.<venue>.<symbol>' },
  { why: 'it is a book topic without a symbol', topic: 'book.SIM', mentions: 'book topic "book.SIM" is not book.<venue>.<symbol>' },
  { why: 'it is a trade topic without a symbol', topic: 'trade.SIM', mentions: 'trade topic "trade.SIM" is not trade.<venue>.<symbol>' },
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

test('tickTopic, bookTopic, tradeTopic and statusTopic build the topics of PROTOCOL.md sections 1 and 8', (t) => {
  t.is(tickTopic('XNYS', 'BRK.B'), 'tick.XNYS.BRK.B');
  t.is(bookTopic('SIM', 'BTC-USD'), 'book.SIM.BTC-USD');
  t.is(tradeTopic('SIM', 'BTC-USD'), 'trade.SIM.BTC-USD');
  t.is(statusTopic('SIM'), 'status.SIM');
});

const instrumentTopic = { tick: tickTopic, book: bookTopic, trade: tradeTopic } as const;

test('property: tickTopic, bookTopic and tradeTopic(venue, symbol) parse back to their class, venue and symbol', (t) => {
  holds(
    t,
    fc.property(fc.constantFrom(...INSTRUMENT_CLASSES), segmentArb, symbolArb, (kind, venue, symbol) => {
      const topic = instrumentTopic[kind](venue, symbol);
      const parsed = parseTopic(topic);
      return parsed.kind === kind && parsed.venue === venue && parsed.symbol === symbol && instrumentTopic[kind](parsed.venue, parsed.symbol) === topic;
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

test('property: a string of valid segments is a topic exactly when it is <tick|book|trade>.<venue>.<symbol...> or status.<venue>', (t) => {
  const firstSegment = fc.oneof(fc.constantFrom(...INSTRUMENT_CLASSES, 'status'), segmentArb);
  const segmentsArb = fc.tuple(firstSegment, fc.array(segmentArb, { maxLength: 5 })).map(([first, rest]) => [first, ...rest]);
  holds(
    t,
    fc.property(segmentsArb, (segments) => {
      const topic = segments.join('.');
      const [kind, venue, ...symbol] = segments;
      const instrument = (INSTRUMENT_CLASSES as readonly string[]).includes(kind!);
      const expectValid = (instrument && segments.length >= 3) || (kind === 'status' && segments.length === 2);
      if (!expectValid) return topicProblem(topic) !== undefined;
      const parsed = parseTopic(topic);
      const rebuilt = parsed.kind === 'status' ? statusTopic(parsed.venue) : instrumentTopic[parsed.kind](parsed.venue, parsed.symbol);
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
