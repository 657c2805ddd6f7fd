/**
 * One well-formed message from a stale or hostile source (another epoch, ts = 2^53-1) must not
 * freeze a topic at any role: with one ordering rule (src/wire/order.ts), the gateway, the
 * snapshot service and the SDK take the real source's next message over it, and agree.
 */
import test from 'ava';
import { XPublisher } from 'zeromq';
import { connect, type TickfanClient, type Update } from '../../src/client/ws/index.js';
import { SnapshotClient } from '../../src/client/zmq/index.js';
import { encodeMessage, encodeTickRecord } from '../../src/wire/index.js';
import { ipcDir, privateFabricEnv, TickfanProcess, withTimeout } from '../helpers/tickfan-process.js';
import { pollUntil } from '../helpers/poll.js';

const TOPIC = 'tick.SIM.ETH-USD';
const HOSTILE_EPOCH = 424242;

/** Resolves with the first update of `client` from now on that passes `match`, within 10 s. */
function nextUpdate(client: TickfanClient, match: (update: Update) => boolean, what: string): Promise<Update> {
  const found = (async () => {
    for await (const update of client.updates([TOPIC])) if (match(update)) return update;
    throw new Error('the client closed');
  })();
  return withTimeout(found, 10_000, what);
}

test('a foreign epoch with ts = 2^53-1 injected at the proxy holds the topic for one message at most; gateway, SDK and snapshot service move on together', async (t) => {
  const dir = ipcDir();
  const env = privateFabricEnv(dir);
  const tickfan = new TickfanProcess(['start'], { ...env, TICKFAN_FEEDS_SIMULATED_RATE: '2000', TICKFAN_FEEDS_INGEST_ENABLED: 'false' });
  const hostile = new XPublisher({ linger: 0 });
  const snapshots = new SnapshotClient({ endpoints: [env.TICKFAN_CONNECT_SNAPSHOT], timeoutMs: 2000 });
  const clients: TickfanClient[] = [];
  t.teardown(async () => {
    await Promise.all(clients.map((c) => c.close()));
    snapshots.close();
    hostile.close();
    tickfan.kill();
    dir.cleanup();
  });
  const { port } = await tickfan.waitForLog('gateway listening');
  await tickfan.waitForLog('tickfan started');
  const url = `ws://127.0.0.1:${String(port)}`;
  const watcher = await connect(url);
  clients.push(watcher);
  await watcher.subscribe(TOPIC, { conflate: false });
  await pollUntil(async () => watcher.get(TOPIC) !== undefined, 'the topic to be held', 10_000, 20);
  const real = watcher.get(TOPIC)!;

  // The hostile publisher joins the proxy's frontend like a feed; the proxy's subscriptions reach it first.
  hostile.connect(env.TICKFAN_PROXY_FRONTEND);
  await hostile.receive();
  const seen = nextUpdate(watcher, (u) => u.epoch === HOSTILE_EPOCH, 'the hostile message at the client');
  const payload = encodeTickRecord({ venue: 'SIM', symbol: 'ETH-USD', bid: 1, ask: 2 });
  await hostile.send(encodeMessage(TOPIC, { flags: 0, epoch: HOSTILE_EPOCH, seq: 1, ts: 2 ** 53 - 1 }, payload) as unknown as Buffer[]);
  const injected = await seen;
  t.is(injected.record.bid, 1, 'the hostile record did reach clients once (nothing can tell it from a restart)');

  // The real source's next ticks take the topic back, at the SDK ...
  const back = await nextUpdate(watcher, (u) => u.epoch === real.epoch, 'the real run to take the topic back');
  const later = await nextUpdate(watcher, (u) => u.epoch === real.epoch && u.seq > back.seq, 'the real run to go on');
  t.true(later.seq > back.seq && back.seq > real.seq, `the topic keeps moving: seq ${real.seq} -> ${back.seq} -> ${later.seq}`);
  t.like(watcher.get(TOPIC), { epoch: real.epoch });

  // ... at the gateway: a client joining now gets the real run's state and then its ticks ...
  const late = await connect(url);
  clients.push(late);
  await late.subscribe(TOPIC);
  t.like(late.get(TOPIC), { epoch: real.epoch });
  const lateTick = await nextUpdate(late, (u) => u.kind === 'tick', 'a live tick for the late client');
  t.is(lateTick.epoch, real.epoch);

  // ... and at the snapshot service, which agrees with the gateway.
  const [stored] = await snapshots.snapshot(TOPIC);
  t.is(stored?.header.epoch, real.epoch, 'SNAPSHOT holds the real run');
  t.true(stored!.header.seq >= back.seq, 'and has moved on past the hostile message');
  t.is(watcher.get(TOPIC)!.epoch, stored!.header.epoch, 'gateway (through the SDK) and snapshot service hold the same run');
});
