import test from 'ava';
import fc from 'fast-check';
import { SubscriptionIndex, upstreamPrefix } from '../../src/gateway/routing.js';
import { patternMatches } from '../../src/wire/websocket.js';

const sorted = (clients: readonly string[]): string[] => [...clients].sort();

test('exact pattern: only that topic', (t) => {
  const index = new SubscriptionIndex<string>();
  index.add('a', 'tick.SIM.BTC-USD');
  t.deepEqual(index.matching('tick.SIM.BTC-USD'), ['a']);
  t.deepEqual(index.matching('tick.SIM.BTC-USDT'), [], 'an exact pattern is not a prefix');
  t.deepEqual(index.matching('tick.SIM.BTC'), []);
  t.true(index.wanted('tick.SIM.BTC-USD'));
  t.false(index.wanted('tick.SIM.ETH-USD'));
});

test('prefix pattern: every topic starting with the part before *', (t) => {
  const index = new SubscriptionIndex<string>();
  index.add('a', 'tick.SIM.*');
  t.deepEqual(index.matching('tick.SIM.BTC-USD'), ['a']);
  t.deepEqual(index.matching('tick.SIM.X'), ['a']);
  t.deepEqual(index.matching('tick.SIMEQ.AAPL'), [], 'tick.SIM.* does not match venue SIMEQ');
  t.deepEqual(index.matching('tick.XNAS.AAPL'), []);
  index.add('b', 'tick.SIM*');
  t.deepEqual(sorted(index.matching('tick.SIMEQ.AAPL')), ['b'], 'tick.SIM* does');
});

test("'*' matches every topic", (t) => {
  const index = new SubscriptionIndex<string>();
  index.add('all', '*');
  for (const topic of ['tick.SIM.BTC-USD', 'tick.XNAS.AAPL', 'status.SIM', 'x']) t.deepEqual(index.matching(topic), ['all'], topic);
});

test('overlapping patterns of one client deliver once; several clients each once', (t) => {
  const index = new SubscriptionIndex<string>();
  for (const pattern of ['*', 'tick.*', 'tick.SIM.*', 'tick.SIM.BTC*', 'tick.SIM.BTC-USD']) index.add('a', pattern);
  index.add('b', 'tick.SIM.BTC-USD');
  index.add('b', 'tick.SIM.*');
  index.add('c', 'tick.XNAS.*');
  t.deepEqual(sorted(index.matching('tick.SIM.BTC-USD')), ['a', 'b']);
  t.deepEqual(sorted(index.matching('tick.XNAS.AAPL')), ['a', 'c']);
  index.add('a', 'tick.SIM.*');
  t.deepEqual(sorted(index.matching('tick.SIM.BTC-USD')), ['a', 'b'], 'adding a pattern twice changes nothing');
});

test('removal: a client stays while another of its patterns matches, and goes with the last', (t) => {
  const index = new SubscriptionIndex<string>();
  index.add('a', 'tick.SIM.*');
  index.add('a', 'tick.SIM.BTC-USD');
  index.add('b', 'tick.SIM.*');
  index.remove('a', 'tick.SIM.*');
  t.deepEqual(sorted(index.matching('tick.SIM.BTC-USD')), ['a', 'b']);
  t.deepEqual(index.matching('tick.SIM.ETH-USD'), ['b']);
  index.remove('a', 'tick.SIM.BTC-USD');
  t.deepEqual(index.matching('tick.SIM.BTC-USD'), ['b']);
  index.remove('b', 'tick.SIM.*');
  t.deepEqual(index.matching('tick.SIM.BTC-USD'), []);
  t.false(index.wanted('tick.SIM.BTC-USD'));
  index.remove('b', 'tick.SIM.*');
  index.remove('z', 'never.added*');
  t.deepEqual(index.matching('tick.SIM.BTC-USD'), [], 'removing what is not there is harmless');
});

test('cached routes are invalidated by every add and remove', (t) => {
  const index = new SubscriptionIndex<string>();
  const topic = 'tick.SIM.BTC-USD';
  t.deepEqual(index.matching(topic), [], 'an empty route is cached too');
  index.add('a', 'tick.*');
  t.deepEqual(index.matching(topic), ['a'], 'a new prefix of a new length is seen');
  index.add('b', 'tick.*');
  t.deepEqual(sorted(index.matching(topic)), ['a', 'b'], 'a new client on an existing prefix is seen');
  index.add('c', topic);
  t.deepEqual(sorted(index.matching(topic)), ['a', 'b', 'c'], 'a new exact pattern is seen');
  index.remove('a', 'tick.*');
  t.deepEqual(sorted(index.matching(topic)), ['b', 'c']);
  index.remove('b', 'tick.*');
  t.deepEqual(index.matching(topic), ['c'], 'a prefix length no longer used is not looked up');
  index.remove('c', topic);
  t.deepEqual(index.matching(topic), []);
});

test('upstreamPrefix and patternMatches', (t) => {
  t.is(upstreamPrefix('tick.SIM.*'), 'tick.SIM.');
  t.is(upstreamPrefix('*'), '');
  t.is(upstreamPrefix('tick.SIM.BTC-USD'), 'tick.SIM.BTC-USD');
  t.true(patternMatches('*', 'tick.SIM.A'));
  t.true(patternMatches('tick.SIM.*', 'tick.SIM.A'));
  t.false(patternMatches('tick.SIM.*', 'tick.SIMEQ.A'));
  t.true(patternMatches('tick.SIM.A', 'tick.SIM.A'));
  t.false(patternMatches('tick.SIM.A', 'tick.SIM.AB'));
});

test('property: matching equals the brute-force answer after any sequence of adds, removes and lookups', (t) => {
  const segment = fc.constantFrom('A', 'AB', 'B');
  const topic = fc.tuple(segment, segment).map(([v, s]) => `tick.${v}.${s}`);
  const pattern = fc.oneof(
    topic,
    fc.constantFrom('*', 'tick.*', 'tick.A*', 'tick.A.*', 'tick.AB.*', 'tick.A.A*', 'tick.B.B*'),
  );
  const client = fc.constantFrom('c1', 'c2', 'c3');
  const op = fc.oneof(
    fc.record({ kind: fc.constant('add' as const), client, pattern }),
    fc.record({ kind: fc.constant('remove' as const), client, pattern }),
    fc.record({ kind: fc.constant('match' as const), topic }),
  );
  t.notThrows(() => fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
    const index = new SubscriptionIndex<string>();
    const model = new Map<string, Set<string>>();
    for (const o of ops) {
      if (o.kind === 'add') {
        index.add(o.client, o.pattern);
        if (!model.has(o.client)) model.set(o.client, new Set());
        model.get(o.client)!.add(o.pattern);
      } else if (o.kind === 'remove') {
        index.remove(o.client, o.pattern);
        model.get(o.client)?.delete(o.pattern);
      } else {
        const expected = [...model].filter(([, patterns]) => [...patterns].some((p) => patternMatches(p, o.topic))).map(([c]) => c).sort();
        const got = index.matching(o.topic);
        if (got.length !== new Set(got).size) throw new Error(`${o.topic} routes a client twice: ${got.join(',')}`);
        if (sorted(got).join(',') !== expected.join(',')) throw new Error(`${o.topic}: got ${sorted(got).join(',')}, expected ${expected.join(',')}`);
      }
    }
  }), { numRuns: 300 }));
});
