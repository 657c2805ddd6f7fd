import test from 'ava';
import { DEFAULT_INSTRUMENTS } from '../../src/feeds/simulated/index.js';
import { tickTopic, topicProblem } from '../../src/wire/index.js';

test('the default list has about 50 instruments across exactly the venues SIM and SIMEQ', (t) => {
  t.true(DEFAULT_INSTRUMENTS.length >= 45 && DEFAULT_INSTRUMENTS.length <= 55);
  t.deepEqual([...new Set(DEFAULT_INSTRUMENTS.map((i) => i.venue))].sort(), ['SIM', 'SIMEQ']);
  for (const venue of ['SIM', 'SIMEQ']) {
    t.true(DEFAULT_INSTRUMENTS.filter((i) => i.venue === venue).length >= 20, venue);
  }
});

test('default instruments have unique, valid topics', (t) => {
  const topics = DEFAULT_INSTRUMENTS.map((i) => tickTopic(i.venue, i.symbol));
  t.is(new Set(topics).size, topics.length);
  for (const topic of topics) t.is(topicProblem(topic), undefined, topic);
});

test('default instruments have positive steps and start prices of many ticks', (t) => {
  for (const i of DEFAULT_INSTRUMENTS) {
    t.true(i.tickSize > 0 && i.lotSize > 0, i.symbol);
    t.true(i.startPrice / i.tickSize >= 1000, `${i.symbol} starts only ${i.startPrice / i.tickSize} ticks above zero`);
    if (i.venue === 'SIMEQ') t.like(i, { tickSize: 0.01, lotSize: 1 });
  }
});
