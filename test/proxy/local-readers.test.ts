/**
 * A js proxy hands each message to the readers of its backend in its own process without a
 * socket (src/util/local-backends.ts, src/proxy/local-readers.ts), as in the all-in-one: a
 * TickStream there gets what a SUB socket would, its prefixes reach the feed as a SUB's would,
 * socket subscribers beside it are served as before, and once the proxy closes the reader
 * goes on over a socket to whatever binds the endpoint next.
 */
import test from 'ava';
import { TickStream } from '../../src/client/zmq/index.js';
import { zmqSocketOptions } from '../../src/config/index.js';
import { createLogger } from '../../src/log/index.js';
import { startProxy, type ForwardingMode, type RunningProxy } from '../../src/proxy/index.js';
import { localBackendAt } from '../../src/util/local-backends.js';
import { Conditions } from '../helpers/conditions.js';
import { cleanup, ObservingFeed, RecordingSubscriber } from '../helpers/proxy-peers.js';
import { collect } from '../helpers/streams.js';

const log = createLogger('silent');
const WAIT_MS = 10_000;
const TOPICS = ['tick.SIM.BTC-USD', 'tick.SIM.ETH-USD'];

function proxy(mode: ForwardingMode, backend = 'tcp://127.0.0.1:*', frontend = 'tcp://127.0.0.1:*'): Promise<RunningProxy> {
  return startProxy({ frontend, backend, frontendHwm: 10_000, backendHwm: 10_000, socket: zmqSocketOptions({ lingerMs: 0 }), mode }, log);
}

/** A stream whose line changes are recorded, with a wait for the line to be in a state. */
function watchedStream(endpoint: string, prefixes: string[]) {
  const conditions = new Conditions();
  let up = false;
  const stream = new TickStream({ endpoint, prefixes, onLineChange: (now) => { up = now; conditions.check(); } });
  return {
    stream,
    line: (wanted: boolean) => conditions.until(() => up === wanted, WAIT_MS, () => `the line ${wanted ? 'up' : 'down'}`),
    close: () => stream.close(),
  };
}

const seqsOf = (messages: readonly { topic: string; header: { seq: number } }[]) => messages.map((m) => `${m.topic}#${m.header.seq}`);
const sentAsSeqs = (sent: readonly string[]) => sent.map((entry) => entry.replace(/#\d+:/, '#'));

test('a reader in the proxy\'s process gets every message in order from the js loop, with no socket on the backend', async (t) => {
  const own = cleanup(t);
  const running = own(await proxy('js'));
  const feed = own(ObservingFeed.connectedTo(running.frontendEndpoint));
  const reader = own(watchedStream(running.backendEndpoint, ['tick.SIM.']));
  await reader.line(true);
  await feed.heard('+tick.SIM.');
  const sent = await feed.publishRounds(TOPICS, 50);
  t.deepEqual(seqsOf(await collect(reader.stream, sent.length)), sentAsSeqs(sent));
  t.is(running.peers().subscribers, 0, 'no connection on the backend: the messages came without a socket');
  t.is(running.forwarded(), sent.length);
});

test('local readers\' prefixes reach the feed once per prefix, and the last reader of a prefix takes it back', async (t) => {
  const own = cleanup(t);
  const running = own(await proxy('js'));
  const feed = own(ObservingFeed.connectedTo(running.frontendEndpoint));
  const first = new TickStream({ endpoint: running.backendEndpoint, prefixes: ['tick.SIM.'] });
  await feed.heard('+tick.SIM.');
  const second = new TickStream({ endpoint: running.backendEndpoint, prefixes: ['tick.SIM.'] });
  first.close();
  // Had the second reader subscribed again or the first's close taken the prefix back, the feed would hear it before this.
  const third = own(new TickStream({ endpoint: running.backendEndpoint, prefixes: ['tick.OTHER.'] }));
  await feed.heard('+tick.OTHER.');
  second.close();
  await feed.heard('-tick.SIM.');
  t.deepEqual(feed.interest, ['+tick.SIM.', '+tick.OTHER.', '-tick.SIM.']);
  third.close();
});

test('a socket subscriber on the backend beside a local reader gets every message of its prefix too', async (t) => {
  const own = cleanup(t);
  const running = own(await proxy('js'));
  const feed = own(ObservingFeed.connectedTo(running.frontendEndpoint));
  const reader = own(watchedStream(running.backendEndpoint, ['tick.SIM.']));
  const subscriber = own(new RecordingSubscriber(running.backendEndpoint, 'tick.SIM.ETH'));
  await reader.line(true);
  // Two distinct prefixes, one of each kind of reader; the XPUB passes on only the socket's.
  await feed.heard('+tick.SIM.');
  await feed.heard('+tick.SIM.ETH');
  const sent = await feed.publishRounds(TOPICS, 20);
  await subscriber.got(20);
  t.deepEqual(subscriber.received, sent.filter((entry) => entry.startsWith('tick.SIM.ETH')));
  t.deepEqual(seqsOf(await collect(reader.stream, sent.length)), sentAsSeqs(sent));
  t.is(running.peers().subscribers, 1);
});

test('when the proxy closes, its local reader goes on over a socket and reads the proxy bound next on the endpoint', async (t) => {
  const own = cleanup(t);
  const first = await proxy('js');
  const reader = own(watchedStream(first.backendEndpoint, ['tick.SIM.']));
  await reader.line(true);
  await first.close();
  await reader.line(false);
  t.is(localBackendAt(first.backendEndpoint), undefined, 'a closed proxy offers nothing');

  // A native proxy offers no local line: the reader reaches it as any other subscriber does.
  const next = own(await proxy('native', first.backendEndpoint));
  const feed = own(ObservingFeed.connectedTo(next.frontendEndpoint));
  await reader.line(true);
  await feed.heard('+tick.SIM.');
  t.is(next.peers().subscribers, 1);
  const sent = await feed.publishRounds(TOPICS, 10);
  t.deepEqual(seqsOf(await collect(reader.stream, sent.length)), sentAsSeqs(sent));
});

test('a proxy bound on 127.0.0.1 or the wildcard is found under either loopback name; other addresses only as written', async (t) => {
  const own = cleanup(t);
  const loopback = own(await proxy('js'));
  const port = /:(\d+)$/.exec(loopback.backendEndpoint)![1];
  t.truthy(localBackendAt(`tcp://localhost:${port}`));
  t.truthy(localBackendAt(`tcp://127.0.0.1:${port}`));
  t.is(localBackendAt(`tcp://127.0.0.2:${port}`), undefined);
  const wildcard = own(await proxy('js', 'tcp://0.0.0.0:*'));
  const wildcardPort = /:(\d+)$/.exec(wildcard.backendEndpoint)![1];
  t.truthy(localBackendAt(`tcp://127.0.0.1:${wildcardPort}`));
  const native = own(await proxy('native'));
  t.is(localBackendAt(native.backendEndpoint), undefined, 'a native proxy\'s messages never reach JavaScript');
});
