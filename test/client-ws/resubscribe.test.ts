import test from 'ava';
import fc from 'fast-check';
import { planResubscriptions, RESUBSCRIBE_LIMITS, type PlannedSubscribe, type ResubscribeLimits } from '../../src/client/ws/resubscribe.js';
import { MAX_PATTERNS_PER_REQUEST, MAX_REQUEST_BYTES, patternMatches, type Position } from '../../src/wire/websocket.js';

/** The resubscription planner without a socket: subscriptions and held positions in, subscribe requests out. */

type Options = { snapshot: boolean; conflate: boolean };
const DEFAULT: Options = { snapshot: true, conflate: true };

/** The request as it is sent, with the widest id the client can give it. */
const bytesOf = (plan: PlannedSubscribe): number => new TextEncoder().encode(JSON.stringify({ op: 'subscribe', id: Number.MAX_SAFE_INTEGER, ...plan })).length;

test('nothing subscribed: nothing to send', (t) => {
  t.deepEqual(planResubscriptions(new Map(), new Map([['tick.V.A', { epoch: 1, seq: 1 }]])), []);
});

test('patterns are grouped by options, each held topic resumed once, by the first request whose patterns match it', (t) => {
  const subs = new Map<string, Options>([
    ['tick.V.*', DEFAULT],
    ['tick.W.B', { snapshot: false, conflate: false }],
    ['tick.V.A', DEFAULT],
  ]);
  const held = new Map<string, Position>([['tick.V.A', { epoch: 1, seq: 5 }], ['tick.W.B', { epoch: 2, seq: 9 }], ['tick.X.C', { epoch: 3, seq: 1 }]]);
  t.deepEqual(planResubscriptions(subs, held), [
    { topics: ['tick.V.*', 'tick.V.A'], snapshot: true, conflate: true, since: { 'tick.V.A': { epoch: 1, seq: 5 } } },
    { topics: ['tick.W.B'], snapshot: false, conflate: false, since: { 'tick.W.B': { epoch: 2, seq: 9 } } },
  ]);
});

test('a since too large for one request: the same patterns again with the rest, only the last asking for snapshots', (t) => {
  const held = new Map<string, Position>(Array.from({ length: 4000 }, (_, i) => [`tick.V.SYMBOL-${i}`, { epoch: 4_000_000_000, seq: 1_000_000 + i }]));
  const plans = planResubscriptions(new Map([['tick.V.*', DEFAULT]]), held);
  t.true(plans.length > 1);
  t.true(plans.every((plan) => plan.topics.length === 1 && plan.topics[0] === 'tick.V.*'));
  t.deepEqual(plans.map((plan) => plan.snapshot), [...plans.slice(1).map(() => false), true]);
  t.true(plans.every((plan) => bytesOf(plan) <= RESUBSCRIBE_LIMITS.requestBytes));
  t.deepEqual(plans.flatMap((plan) => Object.keys(plan.since!)), [...held.keys()]);
});

test('many patterns are split at the pattern limit', (t) => {
  const subs = new Map<string, Options>(Array.from({ length: 1201 }, (_, i) => [`tick.V.S${i}`, DEFAULT]));
  const plans = planResubscriptions(subs, new Map());
  t.deepEqual(plans.map((plan) => plan.topics.length), [500, 500, 201]);
  t.true(plans.every((plan) => plan.since === undefined), 'no since when nothing is held');
});

/** Few venues, so that patterns match many held topics. */
const segment = fc.constantFrom('A', 'B', 'C');
const topicArb = fc.tuple(segment, fc.stringMatching(/^[A-Z0-9]{1,40}$/)).map(([venue, symbol]) => `tick.${venue}.${symbol}`);
const patternArb = fc.oneof(
  topicArb,
  segment.map((venue) => `tick.${venue}.*`),
  fc.constantFrom('*', 'tick.*', 'tick.A*'),
  fc.tuple(segment, fc.stringMatching(/^[A-Z0-9]{0,150}$/)).map(([venue, rest]) => `tick.${venue}.${rest}*`),
);
const optionsArb = fc.record({ snapshot: fc.boolean(), conflate: fc.boolean() });
const positionArb = fc.record({ epoch: fc.integer({ min: 1, max: 0xffff_ffff }), seq: fc.maxSafeNat() });
/** Small limits too, so the splitting paths run on small inputs. */
const limitsArb: fc.Arbitrary<ResubscribeLimits> = fc.oneof(
  fc.constant(RESUBSCRIBE_LIMITS),
  fc.record({ requestBytes: fc.integer({ min: 1200, max: 4000 }), patterns: fc.integer({ min: 1, max: 5 }), patternBytes: fc.integer({ min: 200, max: 600 }) }),
);

test('property: every subscription is sent with its options, every held topic a subscription matches is resumed exactly once with its position, by a request whose patterns match it, and every request is under the byte and pattern limits', (t) => {
  fc.assert(fc.property(
    fc.uniqueArray(fc.tuple(patternArb, optionsArb), { selector: ([pattern]) => pattern, maxLength: 60, size: 'medium' }),
    fc.uniqueArray(fc.tuple(topicArb, positionArb), { selector: ([topic]) => topic, maxLength: 120, size: 'large' }),
    limitsArb,
    (subList, heldList, limits) => {
      const subs = new Map(subList);
      const held = new Map(heldList);
      const plans = planResubscriptions(subs, held, limits);
      for (const plan of plans) {
        if (bytesOf(plan) > Math.min(limits.requestBytes, MAX_REQUEST_BYTES)) return false;
        if (plan.topics.length > Math.min(limits.patterns, MAX_PATTERNS_PER_REQUEST)) return false;
        if (plan.topics.some((pattern) => subs.get(pattern)?.conflate !== plan.conflate)) return false;
        if (plan.snapshot && plan.topics.some((pattern) => !subs.get(pattern)!.snapshot)) return false;
      }
      // Each subscription in some request whose last part asks for snapshots when it did.
      for (const [pattern, options] of subs) {
        const carrying = plans.filter((plan) => plan.topics.includes(pattern));
        if (carrying.length === 0 || carrying.at(-1)!.snapshot !== options.snapshot) return false;
        // A topic resumed by an earlier part must get no snapshot from a later one.
        if (carrying.slice(0, -1).some((plan) => plan.snapshot)) return false;
      }
      const resumed = plans.flatMap((plan) => Object.entries(plan.since ?? {}).map(([topic, position]) => ({ topic, position, plan })));
      const expected = [...held.keys()].filter((topic) => [...subs.keys()].some((pattern) => patternMatches(pattern, topic)));
      if (resumed.length !== expected.length || new Set(resumed.map((r) => r.topic)).size !== expected.length) return false;
      return resumed.every(({ topic, position, plan }) => expected.includes(topic)
        && position.epoch === held.get(topic)!.epoch && position.seq === held.get(topic)!.seq
        && plan.topics.some((pattern) => patternMatches(pattern, topic)));
    },
  // Shrinking hundreds of topics takes minutes: the first counterexample is reported as it is.
  ), { numRuns: 200, endOnFailure: true });
  t.pass();
});
