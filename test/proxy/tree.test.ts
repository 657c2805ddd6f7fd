/**
 * Chained proxies (PROTOCOL.md section 3, proxy.upstream) as a two-level tree on loopback, in
 * both proxy modes: a feed on the root proxy's frontend, a regional proxy whose XSUB connects to
 * the root's backend, subscribers on the regional backend. The feed is a raw XPUB emitting
 * wire-encoded messages, so it also observes the interest that reaches it from the tree.
 */
import test from 'ava';
import { XPublisher } from 'zeromq';
import { zmqSocketOptions } from '../../src/config/index.js';
import { createLogger } from '../../src/log/index.js';
import { startProxy, type ForwardingMode, type RunningProxy, type UpstreamState } from '../../src/proxy/index.js';
import { Conditions } from '../helpers/conditions.js';
import { cleanup, ObservingFeed, RecordingSubscriber } from '../helpers/proxy-peers.js';

const log = createLogger('silent');
const WAIT_MS = 10_000;
const SOCKET = zmqSocketOptions({ lingerMs: 0 });
const HEARTBEAT = { intervalMs: 200, timeoutMs: 1000 };
const SIM_TOPICS = ['tick.SIM.BTC-USD', 'tick.SIM.ETH-USD'];
const OTHER_TOPIC = 'tick.OTHER.X';

function proxy(mode: ForwardingMode, endpoints: { frontend?: string; backend?: string; upstream?: string[] } = {}): Promise<RunningProxy> {
  const { frontend = 'tcp://127.0.0.1:*', backend = 'tcp://127.0.0.1:*', upstream = [] } = endpoints;
  return startProxy({ frontend, backend, upstream, frontendHwm: 10_000, backendHwm: 10_000, socket: SOCKET, upstreamHeartbeat: HEARTBEAT, mode }, log);
}

/** The same proxy again, on the endpoints it bound. */
function restarted(mode: ForwardingMode, previous: RunningProxy, upstream: string[] = []): Promise<RunningProxy> {
  return proxy(mode, { frontend: previous.frontendEndpoint, backend: previous.backendEndpoint, upstream });
}

/** Resolves with the first change of a proxy's upstream links that passes `match`. */
function upstreamChange(proxy: RunningProxy, match: (state: UpstreamState) => boolean): Promise<UpstreamState> {
  const conditions = new Conditions();
  let seen: UpstreamState | undefined;
  proxy.onUpstreamChange((state) => {
    if (seen === undefined && match(state)) seen = state;
    conditions.check();
  });
  return conditions.until(() => seen !== undefined, WAIT_MS, () => `an upstream change; links now ${JSON.stringify(proxy.upstreams())}`).then(() => seen!);
}

/** What a subscriber of `prefix` must receive of what was sent: exactly those, in order. */
const matching = (sent: readonly string[], prefix: string) => sent.filter((message) => message.startsWith(prefix));


for (const mode of ['native', 'js'] as ForwardingMode[]) {
  test.serial(`${mode}: a regional proxy chained to a root forwards exactly the subscribed ticks in order, and its subscriber's interest flows up to the feed and is withdrawn when it leaves`, async (t) => {
    const own = cleanup(t);
    const root = own(await proxy(mode));
    const regional = own(await proxy(mode, { upstream: [root.backendEndpoint] }));
    const feed = own(ObservingFeed.connectedTo(root.frontendEndpoint));
    const subscriber = own(new RecordingSubscriber(regional.backendEndpoint, 'tick.SIM.'));
    await feed.heard('+tick.SIM.');
    t.deepEqual(regional.upstreams(), [{ endpoint: root.backendEndpoint, connected: true, connects: 1 }]);
    t.true(regional.upstreamReady());

    const sent = await feed.publishRounds([OTHER_TOPIC, ...SIM_TOPICS], 300);
    const expected = matching(sent, 'tick.SIM.');
    // Anything else that slipped through would take the place of one of these.
    await subscriber.got(expected.length);
    t.deepEqual(subscriber.received, expected);
    t.deepEqual(feed.interest, ['+tick.SIM.'], 'the root site is asked only for what the regional subscriber wants');
    t.is(regional.peers().publishers, 0, 'the upstream link is not counted as a local publisher');

    subscriber.close();
    await feed.heard('-tick.SIM.');
    t.deepEqual(feed.interest, ['+tick.SIM.', '-tick.SIM.']);
  });

  test.serial(`${mode}: what a regional proxy sends up its upstream link is its subscribers' interest, each prefix once`, async (t) => {
    const own = cleanup(t);
    // A raw XPUB stands in for the root's backend and records what arrives there.
    const standIn = own(new XPublisher({ linger: 0 }));
    await standIn.bind('tcp://127.0.0.1:*');
    const rootBackend = new ObservingFeed(standIn);
    const regional = own(await proxy(mode, { upstream: [standIn.lastEndpoint!] }));
    const first = own(new RecordingSubscriber(regional.backendEndpoint, 'tick.SIM.'));
    await rootBackend.heard('+tick.SIM.');
    // Its own pipe keeps order: once tick.B. is up, this subscriber's tick.SIM. has been handled too.
    const second = own(new RecordingSubscriber(regional.backendEndpoint, 'tick.SIM.', 'tick.B.'));
    await rootBackend.heard('+tick.B.');
    t.deepEqual(rootBackend.interest, ['+tick.SIM.', '+tick.B.'], 'a prefix two subscribers share goes up once');
    first.close();
    second.close();
    await Promise.all([rootBackend.heard('-tick.SIM.'), rootBackend.heard('-tick.B.')]);
    t.deepEqual(rootBackend.interest.slice(2).sort(), ['-tick.B.', '-tick.SIM.'], 'withdrawn once the last subscriber of each left');
  });

  test.serial(`${mode}: a feed on a regional proxy's own frontend (bound on every interface) reaches its subscribers beside the root's ticks, and hears their interest`, async (t) => {
    const own = cleanup(t);
    const root = own(await proxy(mode));
    const regional = own(await proxy(mode, { frontend: 'tcp://0.0.0.0:*', upstream: [root.backendEndpoint] }));
    const rootFeed = own(ObservingFeed.connectedTo(root.frontendEndpoint));
    const localFeed = own(ObservingFeed.connectedTo(regional.frontendEndpoint));
    const subscriber = own(new RecordingSubscriber(regional.backendEndpoint, 'tick.SIM.', 'tick.LOCAL.'));
    await Promise.all([rootFeed.heard('+tick.LOCAL.'), localFeed.heard('+tick.LOCAL.')]);
    const fromRoot = matching(await rootFeed.publishRounds(SIM_TOPICS, 50), 'tick.SIM.');
    const fromLocal = await localFeed.publishRounds(['tick.LOCAL.X'], 50);
    await subscriber.got(fromRoot.length + fromLocal.length);
    t.deepEqual(subscriber.received.filter((m) => m.startsWith('tick.SIM.')), fromRoot);
    t.deepEqual(subscriber.received.filter((m) => m.startsWith('tick.LOCAL.')), fromLocal);
    t.deepEqual(regional.upstreams().map((u) => u.connected), [true]);
  });

  test.serial(`${mode}: a regional proxy restarted on its endpoints subscribes again and forwards again`, async (t) => {
    const own = cleanup(t);
    const root = own(await proxy(mode));
    const first = await proxy(mode, { upstream: [root.backendEndpoint] });
    const feed = own(ObservingFeed.connectedTo(root.frontendEndpoint));
    const subscriber = own(new RecordingSubscriber(first.backendEndpoint, 'tick.SIM.'));
    await feed.heard('+tick.SIM.');
    const before = await feed.publishRounds(SIM_TOPICS, 50);
    await subscriber.got(before.length);

    await first.close();
    await feed.heard('-tick.SIM.');
    const regional = own(await restarted(mode, first, [root.backendEndpoint]));
    // The subscriber reconnects by itself and subscribes again; the new regional proxy passes it up.
    await feed.heard('+tick.SIM.', 2);
    const after = await feed.publishRounds([OTHER_TOPIC, ...SIM_TOPICS], 50);
    const expected = [...before, ...matching(after, 'tick.SIM.')];
    await subscriber.got(expected.length);
    t.deepEqual(subscriber.received, expected);
    t.true(regional.upstreamReady());
  });

  test.serial(`${mode}: a regional proxy keeps forwarding across a restart of its upstream, named by host name`, async (t) => {
    const own = cleanup(t);
    const first = await proxy(mode);
    // By name: libzmq reports the reconnection by the resolved address (127.0.0.1), which must still count for this upstream.
    const upstream = first.backendEndpoint.replace('127.0.0.1', 'localhost');
    const regional = own(await proxy(mode, { upstream: [upstream] }));
    const subscriber = own(new RecordingSubscriber(regional.backendEndpoint, 'tick.SIM.'));
    const firstFeed = ObservingFeed.connectedTo(first.frontendEndpoint);
    await firstFeed.heard('+tick.SIM.');
    const before = await firstFeed.publishRounds(SIM_TOPICS, 50);
    await subscriber.got(before.length);

    const lost = upstreamChange(regional, (state) => !state.connected);
    firstFeed.close();
    await first.close();
    t.deepEqual(await lost, { endpoint: upstream, connected: false, connects: 1 });
    t.false(regional.upstreamReady(), 'not ready while its only upstream is gone');

    const back = upstreamChange(regional, (state) => state.connected);
    const root = own(await restarted(mode, first));
    const feed = own(ObservingFeed.connectedTo(root.frontendEndpoint));
    t.deepEqual(await back, { endpoint: upstream, connected: true, connects: 2 });
    // The regional proxy's XSUB sends its subscriptions again on the new link.
    await feed.heard('+tick.SIM.');
    const after = await feed.publishRounds([OTHER_TOPIC, ...SIM_TOPICS], 50);
    const expected = [...before, ...matching(after, 'tick.SIM.')];
    await subscriber.got(expected.length);
    t.deepEqual(subscriber.received, expected);
    t.true(regional.upstreamReady());
  });
}
