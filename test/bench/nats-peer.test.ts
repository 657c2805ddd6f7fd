import test from 'ava';
import { natsSubjectOf, symbolOf, VENUE } from '../../bench/fanout/instruments.js';
import { NatsClient } from '../../bench/fanout/nats-client.js';
import { NatsPublisher } from '../../bench/fanout/nats-publisher.js';
import { NatsServer } from '../../bench/fanout/nats-server.js';
import { CheckTally } from '../../bench/fanout/sample-check.js';
import { nowMicros, type TickRecord } from '../../src/wire/index.js';

const WAIT_MS = 10_000;

function record(index: number, price: number): TickRecord {
  return { venue: VENUE, symbol: symbolOf(index), bid: price, bidSize: 1, ask: price + 0.25, askSize: 2, last: price, lastSize: 1, volume: 10, exchTs: 1_764_070_000_000_000 };
}

/** A NATS client of the load side, what it received, and a promise of its `count`-th event. */
function client(url: string, subjects: string[], tally: CheckTally, count: number) {
  const tss: number[] = [];
  const errors: Error[] = [];
  let subscribed!: () => void;
  let receivedAll!: () => void;
  const ready = new Promise<void>((resolve) => (subscribed = resolve));
  const all = new Promise<void>((resolve) => (receivedAll = resolve));
  const event = (_: number, ts: number): void => {
    if (tss.push(ts) === count) receivedAll();
  };
  const nats = new NatsClient(url, subjects, tally, { event, subscribed, failed: (err) => errors.push(err) });
  return { nats, tss, errors, ready, all };
}

function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

test("nats-server's WebSocket listener: the feed's ticks reach raw NATS clients by subject wildcard, every event counted, a sample checked", async (t) => {
  const server = await NatsServer.start();
  t.teardown(() => server.stop());
  const tally = new CheckTally();
  const group = client(server.wsUrl, ['tick.BENCH.G07.*'], tally, 200);
  const everything = client(server.wsUrl, ['tick.>'], tally, 400);
  t.teardown(() => {
    group.nats.terminate();
    everything.nats.terminate();
  });
  await within(Promise.all([group.ready, everything.ready]), 'both subscriptions');
  const publisher = await NatsPublisher.connect(server.port, natsSubjectOf);
  t.teardown(() => publisher.close());

  const before = nowMicros();
  // Instruments 7 and 8: groups G07 and G08. Payloads of 64 ticks per flush span nats-server's frames.
  for (let round = 0; round < 200; round++) {
    publisher.publish(record(7, 100 + round));
    publisher.publish(record(8, 200 + round));
    if (round % 64 === 63) publisher.flush();
  }
  publisher.flush();
  await within(Promise.all([everything.all, group.all]), 'every tick at both clients');

  t.is(publisher.published, 400);
  t.deepEqual([everything.tss.length, group.tss.length], [400, 200]);
  t.true(everything.tss.every((ts) => ts >= before && ts <= nowMicros()), 'each event carries its publish ts');
  t.deepEqual([...everything.errors, ...group.errors], []);
  // One message in 32 of each client: 600 messages, about 19.
  t.true(tally.checked >= 15 && tally.checked <= 22, `${tally.checked} events checked`);
  t.deepEqual({ invalid: tally.invalid, problem: tally.problem }, { invalid: 0, problem: undefined });
});

test('NatsServer.stop ends nats-server by its pid', async (t) => {
  const server = await NatsServer.start();
  const { pid } = server;
  t.notThrows(() => process.kill(pid, 0));
  await server.stop();
  t.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
});
