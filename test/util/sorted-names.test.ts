import test from 'ava';
import fc from 'fast-check';
import { SortedNames } from '../../src/util/sorted-names.js';

test('withPrefix() gives exactly the names starting with the prefix, sorted; countWithPrefix() their number', (t) => {
  const names = new SortedNames();
  for (const name of ['tick.SIM.ETH-USD', 'status.SIM', 'tick.SIM.BTC-USD', 'tick.SIMX.A', 'tick.SIM.BTC-USDT']) names.add(name);
  t.deepEqual(names.withPrefix('tick.SIM.'), ['tick.SIM.BTC-USD', 'tick.SIM.BTC-USDT', 'tick.SIM.ETH-USD']);
  t.deepEqual(names.withPrefix('tick.SIM'), ['tick.SIM.BTC-USD', 'tick.SIM.BTC-USDT', 'tick.SIM.ETH-USD', 'tick.SIMX.A']);
  t.deepEqual(names.withPrefix(''), ['status.SIM', 'tick.SIM.BTC-USD', 'tick.SIM.BTC-USDT', 'tick.SIM.ETH-USD', 'tick.SIMX.A']);
  t.deepEqual(names.withPrefix('tick.NOPE'), []);
  t.is(names.countWithPrefix('tick.'), 4);
  t.is(names.size, 5);
});

test('property: names added between lookups are merged in; every lookup equals filtering and sorting all names', (t) => {
  const nameArb = fc.string({ unit: fc.constantFrom('a', 'b', '.', 'z'), maxLength: 5 });
  const stepArb = fc.oneof(
    fc.record({ add: fc.array(nameArb, { maxLength: 8 }) }),
    fc.record({ prefix: nameArb }),
  );
  t.notThrows(() => fc.assert(fc.property(fc.array(stepArb, { maxLength: 30 }), (steps) => {
    const names = new SortedNames();
    const model = new Set<string>();
    for (const step of steps) {
      if ('add' in step) {
        for (const name of step.add) if (!model.has(name)) (model.add(name), names.add(name));
        continue;
      }
      const expected = [...model].filter((name) => name.startsWith(step.prefix)).sort();
      if (JSON.stringify(names.withPrefix(step.prefix)) !== JSON.stringify(expected)) throw new Error(`withPrefix(${JSON.stringify(step.prefix)})`);
      if (names.countWithPrefix(step.prefix) !== expected.length) throw new Error(`countWithPrefix(${JSON.stringify(step.prefix)})`);
    }
  }), { numRuns: 500 }));
});
