import test from 'ava';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AdapterMonitor, FeedAdapter, RecordSink } from '../../src/feeds/adapter.js';
import { TickPublisher } from '../../src/feeds/publisher.js';
import { refuseSharedVenues } from '../../src/feeds/role.js';
import { SimulatedFeed } from '../../src/feeds/simulated/index.js';
import { AdapterSupervisor, type Deliver } from '../../src/feeds/supervisor.js';
import { VenueStatus } from '../../src/feeds/venue-status.js';
import type { StatusRecord, TickRecord } from '../../src/wire/index.js';
import { Conditions } from '../helpers/conditions.js';
import { TEST_SOCKETS } from '../helpers/sockets.js';

const BACKOFF = { minDelayMs: 40, maxDelayMs: 640, jitter: 0 };
const silent = pino({ level: 'silent' });

/** Emits one record every 10 ms and throws right after each: a feed that fails on every tick. */
class ThrowingFeed implements FeedAdapter {
  readonly name = 'throwing';
  readonly venues = ['BAD'];
  readonly expectsTicks = true;
  starts: number[] = [];
  private timer: NodeJS.Timeout | undefined;

  async start(sink: RecordSink, monitor: AdapterMonitor): Promise<void> {
    this.starts.push(performance.now());
    monitor.connected();
    this.timer = setInterval(() => monitor.guard(() => {
      sink.tick({ venue: 'BAD', symbol: 'X', bid: 1 });
      throw new Error('parser bug');
    }), 10);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
  }
}

/** Says it is connected and never sends a tick. */
class SilentFeed implements FeedAdapter {
  readonly name = 'silent';
  readonly venues = ['QUIET'];
  readonly expectsTicks = true;
  starts = 0;
  constructor(private readonly onStart: () => void = () => {}) {}
  async start(_sink: RecordSink, monitor: AdapterMonitor): Promise<void> {
    this.starts++;
    monitor.connected();
    this.onStart();
  }
  async stop(): Promise<void> {}
}

/** Ticks per venue as delivered, with a way to await counts. */
class Counter {
  readonly perVenue = new Map<string, number>();
  readonly statuses: StatusRecord[] = [];
  readonly conditions = new Conditions();
  readonly status = new VenueStatus({ staleAfterMs: 60_000, repeatMs: 60_000 }, (s) => {
    this.statuses.push(s);
    this.conditions.check();
  });

  deliver: Deliver = (_kind, record) => {
    this.perVenue.set(record.venue, (this.perVenue.get(record.venue) ?? 0) + 1);
    this.conditions.check();
    return undefined;
  };

  supervise(adapter: FeedAdapter, stallMs = 0): AdapterSupervisor {
    return new AdapterSupervisor(adapter, { backoff: BACKOFF, stallMs }, this.deliver, this.status, silent);
  }

  count(venue: string): number {
    return this.perVenue.get(venue) ?? 0;
  }
}

function simulated(venue: string, rate: number): SimulatedFeed {
  return new SimulatedFeed({ instruments: [{ venue, symbol: 'X', tickSize: 0.01, startPrice: 100, lotSize: 1 }], rate, seed: 1 });
}

/** Ticks of each venue over one window of `ms`. */
async function ticksOver(counter: Counter, venues: readonly string[], ms: number): Promise<number[]> {
  const before = venues.map((v) => counter.count(v));
  await sleep(ms);
  return venues.map((v, i) => counter.count(v) - before[i]!);
}

test.serial('a feed that throws on every tick is restarted with growing backoff, and the other feeds keep their rates', async (t) => {
  const counter = new Counter();
  const steady = [counter.supervise(simulated('A', 500)), counter.supervise(simulated('B', 500))];
  await Promise.all(steady.map((s) => s.start()));
  // Windows without, with, and again without the faulty feed, so a change in machine load
  // (other processes share the cores) shows in both baselines rather than as the fault's effect.
  const before = await ticksOver(counter, ['A', 'B'], 1000);
  const throwing = new ThrowingFeed();
  const faulty = counter.supervise(throwing);
  await faulty.start();
  const during = await ticksOver(counter, ['A', 'B'], 1500);
  const restarts = faulty.state().restarts;
  await faulty.stop();
  const after = await ticksOver(counter, ['A', 'B'], 1000);

  t.log(`ticks/s of A, B: before ${before.join(', ')}; during ${during.map((n) => Math.round(n / 1.5)).join(', ')}; after ${after.join(', ')}; faulty restarts ${restarts}`);
  for (const [i, venue] of ['A', 'B'].entries()) {
    const baseline = (before[i]! + after[i]!) / 2;
    const rate = during[i]! / 1.5;
    t.true(Math.abs(rate - baseline) <= baseline * 0.1, `venue ${venue}: ${rate.toFixed(0)}/s while the faulty feed ran, ${baseline}/s around it`);
  }
  // Delays of 40, 80, 160, 320 ms (no jitter here): timers never fire early, so each wait is at least its delay.
  const waits = throwing.starts.slice(1).map((at, i) => at - throwing.starts[i]!);
  t.true(waits.length >= 3, `${waits.length} restarts`);
  waits.forEach((wait, i) => t.true(wait >= Math.min(40 * 2 ** i, 640) - 1, `waits ${waits.map((w) => w.toFixed(0)).join(', ')} ms`));
  t.is(restarts, throwing.starts.length - 1);
  t.true(steady.every((s) => s.state().up && s.state().restarts === 0));
  const badStatus = counter.statuses.filter((s) => s.venue === 'BAD').at(-1);
  t.like(badStatus, { state: 'down' });
  t.regex(badStatus!.reason!, /adapter failed: parser bug/);
  await Promise.all(steady.map((s) => s.stop()));
});

test.serial('a feed connected upstream that sends no tick for stallMs is restarted', async (t) => {
  const counter = new Counter();
  const feed = new SilentFeed(() => counter.conditions.check());
  const supervisor = counter.supervise(feed, 200);
  const pausing = new SilentFeed();
  Object.defineProperty(pausing, 'expectsTicks', { value: false });
  Object.defineProperty(pausing, 'venues', { value: ['PAUSING'] });
  const exempt = counter.supervise(pausing, 200);
  await Promise.all([supervisor.start(), exempt.start()]);
  await counter.conditions.until(() => feed.starts >= 3, 5000, () => `3 starts, have ${feed.starts}`);
  t.is(supervisor.state().restarts, feed.starts - 1);
  t.is(pausing.starts, 1, 'a source that may pause (expectsTicks false) is never taken for stalled');
  await exempt.stop();
  t.true(counter.statuses.some((s) => s.venue === 'QUIET' && s.state === 'down' && /stalled: no tick for 200 ms/.test(s.reason!)));
  await supervisor.stop();
});

test.serial('a start that fails is retried, and the adapter runs once it succeeds', async (t) => {
  const counter = new Counter();
  let attempts = 0;
  const inner = simulated('C', 200);
  const flaky: FeedAdapter = {
    name: 'flaky', venues: ['C'], expectsTicks: true,
    async start(sink, monitor) {
      if (++attempts < 3) throw new Error('port in use');
      await inner.start(sink, monitor);
    },
    stop: () => inner.stop(),
  };
  const supervisor = counter.supervise(flaky);
  await supervisor.start();
  await counter.conditions.until(() => counter.count('C') > 0, 5000, () => 'ticks of C');
  t.is(attempts, 3);
  t.like(supervisor.state(), { restarts: 2, up: true });
  await supervisor.stop();
});

test.serial('a second source publishing a topic another owns is refused, named with the owner in one error', async (t) => {
  const lines: string[] = [];
  const log = pino({ level: 'error' }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
  const publisher = new TickPublisher({ endpoints: ['inproc://nobody'], sendHwm: 1000, queueLimit: 1000, socket: TEST_SOCKETS, subscriberWaitMs: 0 }, log);
  const status = new VenueStatus({ staleAfterMs: 60_000, repeatMs: 60_000 }, (s) => publisher.publishStatus(s));
  const deliver: Deliver = (kind, record, source) => publisher.offer(kind, record, source);
  const one = new AdapterSupervisor(simulated('SHARED', 500), { backoff: BACKOFF, stallMs: 0 }, deliver, status, log);
  const twin = simulated('SHARED', 500);
  Object.defineProperty(twin, 'name', { value: 'twin' });
  const two = new AdapterSupervisor(twin, { backoff: BACKOFF, stallMs: 0 }, deliver, status, log);
  await one.start();
  const conditions = new Conditions();
  const timer = setInterval(() => conditions.check(), 10);
  await conditions.until(() => one.state().ticks > 0, 5000, () => 'the first source ticking');
  await two.start();
  await conditions.until(() => (two.state().rejected.owner ?? 0) >= 10, 5000, () => 'refusals of the second source');
  clearInterval(timer);
  t.is(two.state().ticks, 0);
  t.is(one.state().rejected.owner, undefined);
  t.is(lines.length, 1, 'one error per topic and source, not one per record');
  const error = JSON.parse(lines[0]!) as { msg: string; owner: string; refused: string };
  t.like(error, { owner: 'simulated', refused: 'twin' });
  t.regex(error.msg, /tick\.SHARED\.X.*"simulated".*"twin"/);
  await Promise.all([one.stop(), two.stop()]);
  await publisher.close();
});

test('adapters declaring one venue are refused before start, naming both', (t) => {
  const other: FeedAdapter = { name: 'other', venues: ['V'], expectsTicks: true, start: async () => {}, stop: async () => {} };
  const err = t.throws(() => refuseSharedVenues([simulated('V', 1), new ThrowingFeed(), other]));
  t.regex(err!.message, /simulated and other both publish venue V/);
});
