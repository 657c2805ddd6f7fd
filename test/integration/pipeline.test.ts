import test from 'ava';
import { TickStream } from '../../src/client/zmq/index.js';
import { DEFAULT_INSTRUMENTS, SimulatedFeed, TickPublisher } from '../../src/feeds/index.js';
import { TEST_SOCKETS } from '../helpers/sockets.js';
import { createLogger } from '../../src/log/index.js';
import { startProxy, type ForwardingMode } from '../../src/proxy/index.js';
import { byTopic, collect, firstGap } from '../helpers/streams.js';

const log = createLogger('silent');
const TICKS = 10_000;

for (const mode of ['native', 'js'] as ForwardingMode[]) {
  test.serial(`feed -> ${mode} proxy -> subscribers: ${TICKS} ticks over 50 topics, contiguous seq from 1, one epoch, venue filter holds`, async (t) => {
    const proxy = await startProxy(
      { frontend: 'tcp://127.0.0.1:*', backend: 'tcp://127.0.0.1:*', frontendHwm: 100_000, backendHwm: 100_000, socket: TEST_SOCKETS, mode },
      log,
    );
    const everything = new TickStream({ endpoint: proxy.backendEndpoint, prefixes: ['tick.'] });
    const publisher = new TickPublisher(
      { endpoints: [proxy.frontendEndpoint], sendHwm: 100_000, queueLimit: 100_000, socket: TEST_SOCKETS, subscriberWaitMs: 10_000 },
      log,
    );
    // Resolves once the subscription of `everything` has travelled up to the publisher,
    // so nothing published from here on can be lost to ZeroMQ's slow joiner.
    await publisher.connect();
    const simOnly = new TickStream({ endpoint: proxy.backendEndpoint, prefixes: ['tick.SIM.'] });
    const feed = new SimulatedFeed({ instruments: DEFAULT_INSTRUMENTS, rate: 20_000, seed: 1 });
    t.teardown(async () => {
      await feed.stop();
      everything.close();
      simOnly.close();
      await publisher.close();
      await proxy.close();
    });
    const [all, sim] = await Promise.all([
      collect(everything, TICKS),
      collect(simOnly, 1_000),
      feed.start(publisher.sink()),
    ]);

    const topics = byTopic(all);
    t.is(topics.size, 50, 'every instrument of the default list is seen');
    for (const [topic, { seqs, epochs }] of topics) {
      t.is(seqs[0], 1, `${topic} starts at seq 1`);
      t.is(firstGap(seqs), undefined, `${topic} has contiguous seqs`);
      t.deepEqual([...epochs], [publisher.epoch], `${topic} carries the publisher's epoch`);
    }
    t.true(all.every((m) => m.kind === 'tick'));
    t.true(sim.every((m) => m.topic.startsWith('tick.SIM.') && m.record.venue === 'SIM'), 'the tick.SIM. subscriber sees only SIM');
    t.deepEqual(Object.fromEntries(everything.rejected), {}, 'no message failed to decode');
    if (mode === 'js') t.true(proxy.forwarded()! >= TICKS, 'the js proxy counts what it forwards');
  });
}
