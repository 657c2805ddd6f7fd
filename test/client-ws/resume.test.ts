import test, { type ExecutionContext } from 'ava';
import { baseDelay, connect, type StateChange, type TickfanClient } from '../../src/client/ws/index.js';
import { snapshotState, stopFeed } from '../helpers/late-join.js';
import { freePort, nextState, plainState, recordingWebSocket, startFabricWithFeed, startGateway, UpdateLog, type FabricWithFeed } from './helpers.js';

/**
 * The resume acceptance point: a client with conflate:false on a feed of >= 5,000 ticks/s
 * loses its connection mid-stream (its socket killed, or the gateway restarted), reconnects
 * with `since` and ends with exactly the feed's final state, never applying a seq twice.
 *
 * Every role is its own CLI process; the truth is the Witness (every message the proxy sent,
 * read on its own socket), cross-checked with a SNAPSHOT of the snapshot service.
 */

const RATE = 5000;
/** The built-in simulated instruments: 50 topics over SIM and SIMEQ. */
const TOPICS = 50;
const BACKOFF = { minReconnectDelayMs: 20, maxReconnectDelayMs: 400, reconnectJitter: 0.5 };

function fabricWithFeed(t: ExecutionContext): Promise<FabricWithFeed> {
  // A history of 1,024 ticks per topic (about 10 s of this feed) instead of the default 64 (under
  // a second): the test is that what a client missed while away comes back from history, and on a
  // loaded machine a reconnect can take longer than the default reaches back.
  return startFabricWithFeed(t, { TICKFAN_FEEDS_SIMULATED_RATE: String(RATE), TICKFAN_GATEWAY_HISTORY_PER_TOPIC: '1024' });
}

/** Stops the feed and checks the client ends with its final state, every update applied once and in order. */
async function assertFinalState(t: ExecutionContext, setup: FabricWithFeed, client: TickfanClient, log: UpdateLog): Promise<void> {
  const run = await stopFeed(setup.feed);
  // The feed keeps pace with the clock unless the machine starves it (tests of other files run
  // alongside): asked for RATE, it must at least have come near it.
  t.true(run.rate >= RATE / 2, `the feed ran at ${run.rate} ticks/s (asked ${RATE})`);
  // The client follows tick.*; the feed's status.<venue> topics are not part of its state.
  const truth = ticksOnly(await setup.witness.final(run, TOPICS));
  await log.converged(truth);
  t.deepEqual(plainState(client.entries()), plainState(truth), "the client's state (epoch, seq, ts, record per topic) is the feed's final state");
  t.deepEqual(log.violations, [], 'no seq applied twice or going backwards within an epoch');
  t.is(log.applied, client.counters.applied, 'every applied update was seen, once');
  t.deepEqual(plainState(ticksOnly(await snapshotState(setup.fabric.snapshotEndpoints))), plainState(truth), 'the snapshot service agrees');
  t.log(`${run.published} ticks published at ${run.rate}/s; client applied ${log.applied} (${log.snapshots} snapshots), dropped ${client.counters.duplicates} duplicates, `
    + `${log.gaps} jumps over ${log.skippedSeqs} seqs; ${client.counters.reconnects} reconnects resumed ${client.counters.resumedTopics} topics with since`);
}

function ticksOnly<T>(state: ReadonlyMap<string, T>): Map<string, T> {
  return new Map([...state].filter(([topic]) => topic.startsWith('tick.')));
}

/** Checks each reconnect delay lies in [base * (1 - jitter), base] for its attempt; after 1012 (a drain), in [0, base]. */
function assertBackoff(t: ExecutionContext, changes: readonly StateChange[]): void {
  const reconnecting = changes.filter((change) => change.state === 'reconnecting');
  for (const { attempt, delayMs, code } of reconnecting) {
    const jitter = code === 1012 ? 1 : BACKOFF.reconnectJitter;
    const base = baseDelay(attempt, { minDelayMs: BACKOFF.minReconnectDelayMs, maxDelayMs: BACKOFF.maxReconnectDelayMs, jitter });
    const least = Math.floor(base * (1 - jitter));
    t.true(delayMs! >= least && delayMs! <= base, `attempt ${attempt} (after ${code}): delay ${delayMs} ms within [${least}, ${base}]`);
  }
}

/**
 * Kills the client's socket three times mid-stream. With `anchor`, another client keeps the
 * gateway's interest in the topics (and so its per-topic history) while this one is away, so
 * every missed tick must come back as a replay; alone, the gateway lets go of the topics when
 * its last client leaves and the resume is answered with snapshots.
 */
const killSocket = test.macro(async (t, anchor: boolean) => {
  const setup = await fabricWithFeed(t);
  const { url } = await startGateway(setup.fabric);
  if (anchor) {
    const other = await connect(url);
    t.teardown(() => other.close());
    await other.subscribe('tick.*');
  }
  const { WebSocket, sockets } = recordingWebSocket();
  const client = await connect(url, { WebSocket, ...BACKOFF, stableConnectionMs: 0 });
  t.teardown(() => client.close());
  const log = new UpdateLog(client);
  const changes: StateChange[] = [];
  client.on('state', (change) => changes.push(change));

  await client.subscribe(['tick.*'], { conflate: false });
  t.is(client.size, TOPICS, 'the snapshot of every topic came with the subscription');
  await log.more(2 * TOPICS + 1000);
  for (let kill = 1; kill <= 3; kill++) {
    const dropped = nextState(client, (change) => change.state === 'reconnecting');
    const live = nextState(client, (change) => change.state === 'live');
    const before = client.counters.resumedTopics;
    sockets.at(-1)!.terminate();
    t.is((await dropped).code, 1006, `kill ${kill}: the client saw its connection drop`);
    await live;
    await log.more(1500);
    t.is(client.counters.resumedTopics - before, TOPICS, `kill ${kill}: every topic was resubscribed with since`);
  }
  t.is(sockets.length, 4, 'one socket per connection');
  t.is(client.counters.reconnects, 3);
  assertBackoff(t, changes);
  await assertFinalState(t, setup, client, log);
  if (anchor) {
    t.is(log.snapshots, TOPICS, 'snapshots only on the first subscribe');
    t.is(log.gaps, 0, 'every tick missed while away was replayed: seqs contiguous per topic over the whole run');
  }
});

test('a client whose socket is killed mid-stream resumes with since (replayed from history) and ends with the feed state', killSocket, true);
test('the only client of a gateway, its socket killed mid-stream, resumes with since and ends with the feed state', killSocket, false);

test('a client resumes across a gateway restart on the same port and ends with the feed state', async (t) => {
  const setup = await fabricWithFeed(t);
  const port = await freePort();
  let { gateway, url } = await startGateway(setup.fabric, port);
  const client = await connect(url, { ...BACKOFF, stableConnectionMs: 0 });
  t.teardown(() => client.close());
  const log = new UpdateLog(client);
  const changes: StateChange[] = [];
  client.on('state', (change) => changes.push(change));
  await client.subscribe(['tick.SIM.*', 'tick.SIMEQ.*'], { conflate: false });
  await log.more(2 * TOPICS + 1000);
  const firstSession = client.session;

  const dropped = nextState(client, (change) => change.state === 'reconnecting');
  const stopped = await gateway.stop('SIGTERM');
  t.is(stopped.code, 0, 'the gateway exits 0 on SIGTERM');
  t.is((await dropped).code, 1012, 'the gateway drained: service restart, reconnect');
  // Down: attempts fail and the delays grow until it is back.
  await nextState(client, (change) => change.state === 'reconnecting' && change.attempt >= 3);
  const live = nextState(client, (change) => change.state === 'live');
  ({ gateway } = await startGateway(setup.fabric, port));
  await live;
  t.not(client.session, firstSession, 'a new session');
  await log.more(2000);

  const attempts = changes.filter((change) => change.state === 'reconnecting').map((change) => change.attempt);
  t.deepEqual(attempts, attempts.map((_, i) => i + 1), `consecutive attempts while the gateway was down: ${attempts.join(', ')}`);
  assertBackoff(t, changes);
  t.is(client.counters.resumedTopics, TOPICS, 'every topic was resubscribed with since');
  await assertFinalState(t, setup, client, log);
  t.is(log.gaps, 0, 'the restarted gateway, its history empty, answered since from the snapshot service\'s REPLAY: no seq skipped');
});
