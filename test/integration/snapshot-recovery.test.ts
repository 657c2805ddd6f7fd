import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import {
  assertEqualToSource, Fabric, tornDownWith, instruments, lostNote, plain, snapshotState, stopFeed, TrackedClient, Witness,
} from '../helpers/late-join.js';

/**
 * The snapshot service going away under its clients, with every role a `tickfan start
 * --roles R` process on private ipc endpoints and a simulated feed of 5,000 ticks/s over
 * 500 topics: a restart that reloads the persisted last values, and a failover to a second
 * service when the first is killed. Clients run in this process; a witness on the proxy
 * records the source's final state independently of the snapshot services.
 */

const TOPICS = 500;
const CONVERGE_MS = 20_000;

function fabric(env: Record<string, string> = {}): Fabric {
  return new Fabric({ TICKFAN_FEEDS_SIMULATED_INSTRUMENTS: instruments(10, 50), TICKFAN_FEEDS_SIMULATED_RATE: '5000', ...env });
}

/** Makes clients of the fabric's snapshot services (quick failover), torn down with the test. */
function joiner(net: Fabric, clients: TrackedClient[]): (name: string, prefix: string) => TrackedClient {
  return (name, prefix) => {
    const made = new TrackedClient(name, { endpoint: net.backend, prefix, snapshotEndpoints: net.snapshotEndpoints, snapshotTimeoutMs: 300 });
    clients.push(made);
    return made;
  };
}

test.serial('a restarted snapshot service reloads its persisted state, and clients joining after it end equal to the source', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tickfan-persist-'));
  const net = fabric({ TICKFAN_SNAPSHOT_PERSIST_FILE: join(dir, 'snapshot.ndjson') });
  const { clients, watch } = tornDownWith(t, net, () => rmSync(dir, { recursive: true, force: true }));
  let witness: Witness | undefined;
  const client = joiner(net, clients);
  await net.start('proxy');
  const firstService = await net.startSnapshot();
  t.truthy(await firstService.waitForLog('snapshot reloaded', (l) => l.topics === 0), 'the first service starts from no file');
  witness = watch(new Witness(net.backend));
  const feed = await net.start('feed');
  const through = client('connected throughout', '');
  await through.subscriber.ready;
  // Let the service see every topic before it stops.
  await witness.topics(TOPICS);

  const stopped = await firstService.stop('SIGTERM');
  t.is(stopped.code, 0, 'the snapshot service exits 0 on SIGTERM');
  const secondService = await net.startSnapshot();
  const reloaded = await secondService.waitForLog('snapshot reloaded');
  t.true((reloaded.topics as number) > 0, `the restarted service reloaded ${String(reloaded.topics)} topics from its file`);

  const served = await snapshotState(net.snapshotEndpoints);
  t.true(served.size >= (reloaded.topics as number), `right after the restart the service serves the ${String(reloaded.topics)} reloaded topics (served ${served.size})`);

  const joiners = [client('joined after the restart (everything)', ''), client('joined after the restart (L3)', 'tick.L3.')];
  await Promise.all(joiners.map((c) => c.subscriber.ready));
  // What was published while no service ran is lost to the restarted one: a topic that has
  // not ticked since keeps its reloaded, older value there, and so in the state of a client
  // that joins now, and nothing can show either of them that it is stale. Every topic must
  // tick again before the two can equal the source. (A joiner's ready also proves the new
  // service is subscribed: its snapshot holds the joiner's first live message.)
  await witness.everyTopicTicks(TOPICS);
  const run = await stopFeed(feed);
  const truth = await witness.final(run, TOPICS);

  await Promise.all(clients.map((c) => c.converge(truth, CONVERGE_MS)));
  for (const c of clients) assertEqualToSource(t, c, truth);
  t.deepEqual(plain(await snapshotState(net.snapshotEndpoints)), plain(truth), "the restarted service's final state is the source's");
  t.log(`feed ${run.published} ticks at ${run.rate}/s${lostNote(witness)}; ${clients.map((c) => `${c.name}: ${JSON.stringify(c.subscriber.counters)}`).join('; ')}`);
});

test.serial('with the first of two snapshot services killed, a client joining then fails over to the second and ends equal to the source', async (t) => {
  const net = fabric();
  const { clients, watch } = tornDownWith(t, net);
  let witness: Witness | undefined;
  const client = joiner(net, clients);
  await net.start('proxy');
  const first = await net.startSnapshot('snapshot-a');
  await net.startSnapshot('snapshot-b');
  t.is(net.snapshotEndpoints.length, 2);
  witness = watch(new Witness(net.backend));
  const feed = await net.start('feed');
  const before = client('joined before the kill', '');
  await before.subscriber.ready;
  t.is(before.subscriber.failovers, 0, 'the first service answered while it ran');

  await first.stop('SIGKILL');
  // The feed must have published every topic before it stops, for the witness to know them all.
  const allTopics = witness.topics(TOPICS);
  const after = [client('joined after the kill (everything)', ''), client('joined after the kill (L7)', 'tick.L7.')];
  await Promise.all(after.map((c) => c.subscriber.ready));
  await allTopics;
  const run = await stopFeed(feed);
  const truth = await witness.final(run, TOPICS);

  await Promise.all(clients.map((c) => c.converge(truth, CONVERGE_MS)));
  for (const c of clients) assertEqualToSource(t, c, truth);
  for (const c of after) t.true(c.subscriber.failovers > 0, `${c.name} failed over to the second service`);
  t.deepEqual(plain(await snapshotState(net.snapshotEndpoints.slice(1))), plain(truth), "the surviving service's final state is the source's");
  t.log(`feed ${run.published} ticks at ${run.rate}/s${lostNote(witness)}; ${clients.map((c) => `${c.name}: failovers ${c.subscriber.failovers}`).join('; ')}`);
});
