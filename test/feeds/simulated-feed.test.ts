import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { tickSink } from '../helpers/sinks.js';
import { DEFAULT_INSTRUMENTS, SimulatedFeed } from '../../src/feeds/simulated/index.js';
import { OrderBook, type BookRecord, type TickRecord } from '../../src/wire/index.js';
import { Conditions } from '../helpers/conditions.js';
import { onTime } from './_books.js';

// Serial: these tests measure timing, and one of them blocks the event loop on purpose.

/** A sink that counts records and resolves `reached` once `target` have arrived. */
function countingSink(target: number): { sink: (record: TickRecord) => void; received: () => number; reached: Promise<number> } {
  let count = 0;
  let resolve!: (elapsedMs: number) => void;
  const reached = new Promise<number>((r) => (resolve = r));
  const startedAt = performance.now();
  return {
    sink: () => {
      if (++count === target) resolve(performance.now() - startedAt);
    },
    received: () => count,
    reached,
  };
}

/** Longer than several 5 ms timer turns: only used to show that nothing more arrives. */
async function severalTimerTurns(): Promise<void> {
  await sleep(30);
  await new Promise((r) => setImmediate(r));
}

async function measureRate(t: import('ava').ExecutionContext, rate: number, records: number): Promise<void> {
  const feed = new SimulatedFeed({ instruments: DEFAULT_INSTRUMENTS, rate, seed: 1 });
  const counter = countingSink(records);
  await feed.start(tickSink(counter.sink));
  const elapsedMs = await counter.reached;
  await feed.stop();
  const measured = (records / elapsedMs) * 1000;
  t.log(`rate ${rate}/s: ${records} records in ${elapsedMs.toFixed(1)} ms = ${measured.toFixed(0)}/s, behind ${feed.behind}`);
  t.true(Math.abs(measured - rate) <= rate * 0.1, `measured ${measured.toFixed(0)}/s for ${rate}/s`);
  t.is(feed.emitted, counter.received());
}

test.serial('at 2,000/s the feed emits within 10% of the rate', async (t) => {
  await measureRate(t, 2_000, 2_000);
});

test.serial('at 10/s records come out on time rather than per timer turn', async (t) => {
  await measureRate(t, 10, 5);
});

test.serial('at 200,000/s the feed keeps the rate', async (t) => {
  await measureRate(t, 200_000, 100_000);
});

test.serial('no record reaches the sink after stop() resolves', async (t) => {
  const feed = new SimulatedFeed({ instruments: DEFAULT_INSTRUMENTS, rate: 50_000, seed: 1 });
  const counter = countingSink(1_000);
  await feed.start(tickSink(counter.sink));
  await counter.reached;
  await feed.stop();
  const atStop = counter.received();
  await severalTimerTurns();
  t.is(counter.received(), atStop);
  t.is(feed.emitted, atStop);
});

test.serial('a sink that stops the feed gets nothing more, not even the rest of the burst', async (t) => {
  const feed = new SimulatedFeed({ instruments: DEFAULT_INSTRUMENTS, rate: 100_000, seed: 1 });
  let count = 0;
  await feed.start(tickSink(() => {
    if (++count === 10) void feed.stop();
  }));
  await severalTimerTurns();
  t.is(count, 10);
});

test.serial('behind a slow sink the feed skips the backlog and keeps the event loop responsive', async (t) => {
  const feed = new SimulatedFeed({ instruments: DEFAULT_INSTRUMENTS, rate: 5_000, seed: 1 });
  // 2 ms per record caps the sink at 500/s; a burst of 20 ms worth (100 records) with no time limit would block 200 ms.
  const counter = countingSink(100);
  let maxGapMs = 0;
  let lastProbe = performance.now();
  const probe = setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - lastProbe);
    lastProbe = now;
  }, 1);
  await feed.start(tickSink((record) => {
    const until = performance.now() + 2;
    while (performance.now() < until);
    counter.sink(record);
  }));
  await counter.reached;
  await feed.stop();
  clearInterval(probe);
  t.log(`emitted ${feed.emitted}, behind ${feed.behind}, longest event-loop gap ${maxGapMs.toFixed(1)} ms`);
  t.true(feed.behind > 0);
  t.true(maxGapMs < 100, `event loop blocked for ${maxGapMs.toFixed(1)} ms`);
});

test.serial('a short event-loop stall costs no records, a long one skips all but 100 ms worth', async (t) => {
  const block = (ms: number): void => {
    const until = performance.now() + ms;
    while (performance.now() < until);
  };
  const feed = new SimulatedFeed({ instruments: DEFAULT_INSTRUMENTS, rate: 2_000, seed: 1 });
  await feed.start(tickSink());
  await sleep(20);
  block(60);
  await sleep(100);
  t.is(feed.behind, 0);
  block(500);
  await sleep(10);
  await feed.stop();
  // 500 ms at 2,000/s is 1,000 records; the first turn after the stall sends 40 and keeps 200.
  t.true(feed.behind >= 700 && feed.behind <= 850, `behind ${feed.behind}`);
});

test.serial('start() twice without stop() is refused, and a stopped feed can start again', async (t) => {
  const feed = new SimulatedFeed({ instruments: DEFAULT_INSTRUMENTS, rate: 1_000, seed: 1 });
  await feed.start(tickSink());
  await t.throwsAsync(feed.start(tickSink()), { message: /already started/ });
  await feed.stop();
  const counter = countingSink(5);
  await feed.start(tickSink(counter.sink));
  await counter.reached;
  await feed.stop();
  t.pass();
});

test.serial('the feed is named "simulated" and refuses a rate that is not positive', (t) => {
  t.is(new SimulatedFeed({ instruments: DEFAULT_INSTRUMENTS, rate: 1, seed: 1 }).name, 'simulated');
  for (const rate of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
    t.throws(() => new SimulatedFeed({ instruments: DEFAULT_INSTRUMENTS, rate, seed: 1 }), { instanceOf: RangeError });
  }
});

test.serial('each book is a snapshot again every bookSnapshotIntervalMs, the books spread over the interval, and stays consistent', async (t) => {
  const intervalMs = 200;
  const instruments = DEFAULT_INSTRUMENTS.slice(0, 2);
  const feed = new SimulatedFeed({ instruments, rate: 400, seed: 1, bookDepth: 20, bookSnapshotIntervalMs: intervalMs });
  const records: { record: BookRecord; at: number }[] = [];
  const conditions = new Conditions();
  const snapshotsOf = (symbol: string) => records.filter(({ record }) => record.symbol === symbol && record.action === 'snapshot').map(({ at }) => at);
  await feed.start({
    tick() {},
    trade() {},
    book(record) {
      records.push({ record, at: performance.now() });
      conditions.check();
      return true;
    },
  });
  await conditions.until(() => instruments.every(({ symbol }) => snapshotsOf(symbol).length >= 4), 10_000, () => '4 snapshots of each book');
  await feed.stop();
  for (const { symbol } of instruments) {
    const at = snapshotsOf(symbol);
    const periods = at.slice(2).map((x, i) => x - at[i + 1]!);
    t.true(onTime(periods, intervalMs), `${symbol}: periods ${periods.map((ms) => ms.toFixed(0)).join(', ')} ms`);
    const book = new OrderBook();
    t.true(records.filter(({ record }) => record.symbol === symbol).every(({ record }) => book.apply(record)), `${symbol}: every record matches its checksum`);
  }
  const apart = Math.abs(snapshotsOf(instruments[0]!.symbol)[2]! - snapshotsOf(instruments[1]!.symbol)[2]!);
  t.true(apart >= intervalMs * 0.2 && apart <= intervalMs * 0.8, `the two books' snapshots ${apart.toFixed(0)} ms apart`);
});
