import test from 'ava';
import { assertEqualToSource, Fabric, instruments, stopFeed, total, tornDownWith, TrackedClient, Witness } from '../helpers/late-join.js';

/**
 * A redundant fabric (PROTOCOL.md section 3): two proxies, the feed publishing to both
 * frontends, the snapshot service and the clients on both backends, each a real process or
 * socket. Losing a whole line mid-stream must cost the subscribers nothing: no gap, no
 * duplicate, no REPLAY, and a state equal to the source's.
 */

const VENUES = 10;
const PER_VENUE = 10;
const TOPICS = VENUES * PER_VENUE;
const RATE = 5000;
const CONVERGE_MS = 20_000;

test.serial('A/B lines: SIGKILL of proxy-a mid-stream at 5,000 ticks/s leaves every subscriber gap-free and duplicate-free, with no REPLAY', async (t) => {
  const net = new Fabric({ TICKFAN_FEEDS_SIMULATED_INSTRUMENTS: instruments(VENUES, PER_VENUE), TICKFAN_FEEDS_SIMULATED_RATE: String(RATE) });
  const line = (name: string) => ({ frontend: net.endpoint(`frontend-${name}`), backend: net.endpoint(`backend-${name}`) });
  const [a, b] = [line('a'), line('b')];
  const lines = { TICKFAN_CONNECT_FRONTEND: `${a.frontend},${b.frontend}`, TICKFAN_CONNECT_BACKEND: `${a.backend},${b.backend}` };
  const { clients, watch } = tornDownWith(t, net);

  const proxyA = await net.start('proxy', { TICKFAN_PROXY_FRONTEND: a.frontend, TICKFAN_PROXY_BACKEND: a.backend });
  await net.start('proxy', { TICKFAN_PROXY_FRONTEND: b.frontend, TICKFAN_PROXY_BACKEND: b.backend });
  const snapshot = await net.startSnapshot('snapshot', lines);
  // The surviving line carries everything the source published: the truth, read independently.
  const witness = watch(new Witness(b.backend));
  const feed = await net.start('feed', lines);
  await witness.topics(TOPICS);

  const options = (prefix: string) => ({ endpoint: [a.backend, b.backend], prefix, snapshotEndpoints: net.snapshotEndpoints, snapshotTimeoutMs: 2000 });
  for (const [name, prefix] of [['everything', ''], ['L3', 'tick.L3.']] as const) clients.push(new TrackedClient(name, options(prefix)));
  await Promise.all(clients.map((c) => c.subscriber.ready));
  // Both lines are delivering: each copy of every message arrives, and one of them is dropped.
  await witness.everyTopicTicks(TOPICS);
  const beforeKill = clients[0]!.subscriber.lines();
  t.deepEqual(beforeKill.map((l) => [l.endpoint, l.up]), [[a.backend, true], [b.backend, true]], 'both lines are up');
  t.true(beforeKill.some((l) => l.duplicates > 0), `the later copies were dropped as duplicates (${JSON.stringify(beforeKill)})`);

  proxyA.kill();
  await proxyA.exited;
  // Every topic moves on after the kill, over line B alone.
  await witness.everyTopicTicks(TOPICS);
  const run = await stopFeed(feed);
  const truth = await witness.final(run, TOPICS);
  t.true(run.rate >= RATE / 2, `the feed published ${run.published} ticks at ${run.rate}/s`);

  await Promise.all(clients.map((c) => c.converge(truth, CONVERGE_MS)));
  for (const c of clients) {
    assertEqualToSource(t, c, truth);
    t.deepEqual(c.violations, [], `${c.name}: nothing applied twice or out of order`);
    t.is(c.bySource.replay, 0, `${c.name}: nothing replayed`);
  }
  for (const counter of ['gapsDetected', 'gapsRepaired', 'resnapshots', 'gapsSkipped', 'verifyRepairs'] as const) {
    t.is(total(clients, counter), 0, `no client saw a ${counter}`);
  }
  t.false(clients[0]!.subscriber.lines()[0]!.up, 'the killed line is reported down');

  const { code } = await snapshot.stop('SIGTERM');
  t.is(code, 0);
  const stopped = await snapshot.waitForLog('snapshot stopped');
  const requests = stopped.requests as Record<string, number>;
  t.deepEqual(Object.keys(requests).filter((key) => key.startsWith('REPLAY')), [], `no REPLAY was asked (${JSON.stringify(requests)})`);
  t.log(`feed ${run.published} ticks at ${run.rate}/s; duplicates dropped per line: ${JSON.stringify(clients.map((c) => c.subscriber.lines().map((l) => l.duplicates)))}; holes ${JSON.stringify(clients.map((c) => c.subscriber.holes()))}`);
});
