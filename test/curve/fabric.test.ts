/**
 * The fabric's CurveZMQ in one process, on real sockets: a chained proxy whose frontend is a
 * CURVE server for feeds and a CURVE client of its upstream, a revoked key dropped by a native
 * proxy (which rebuilds its sockets), and the key directory's re-reads.
 */
import test, { type ExecutionContext } from 'ava';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TickStream } from '../../src/client/zmq/index.js';
import { FabricSecurity, writeKeyPair, type CurveSettings } from '../../src/curve/index.js';
import { localBackendAt } from '../../src/util/local-backends.js';
import { KeyDirectory } from '../../src/curve/directory.js';
import { decodeKey } from '../../src/curve/z85.js';
import { TickPublisher } from '../../src/feeds/index.js';
import { createLogger } from '../../src/log/index.js';
import { startProxy, type ForwardingMode } from '../../src/proxy/index.js';
import { Conditions } from '../helpers/conditions.js';
import { pollUntil } from '../helpers/poll.js';
import { TEST_SOCKETS } from '../helpers/sockets.js';

const log = createLogger('silent');
const WAIT_MS = 10_000;

/** A server pair and client pairs named `names`, each client key copied into the directories given for it. */
function fabricKeys(t: ExecutionContext, clients: Record<string, readonly ('publishers' | 'subscribers')[]>) {
  const dir = mkdtempSync(join(tmpdir(), 'tickfan-fabric-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const made = join(dir, 'made');
  const server = writeKeyPair(made, 'server');
  for (const into of ['publishers', 'subscribers']) mkdirSync(join(dir, into));
  const settings = (own: string): CurveSettings => ({
    enabled: true, serverCertificate: server.secretFile, serverKey: server.publicFile,
    certificate: join(made, `${own}.key_secret`), publishers: join(dir, 'publishers'), subscribers: join(dir, 'subscribers'),
  });
  for (const [name, dirs] of Object.entries(clients)) {
    const pair = writeKeyPair(made, name);
    for (const into of dirs) copyFileSync(pair.publicFile, join(dir, into, `${name}.key`));
  }
  return { dir, settings, security: (own: string) => FabricSecurity.open(settings(own), log) };
}

function streamOf(endpoint: string, security: FabricSecurity, conditions: Conditions, lines?: boolean[]) {
  return new TickStream({
    endpoint, prefixes: ['tick.'], curve: security.clientKeys(),
    onLineChange: (up) => {
      lines?.push(up);
      conditions.check();
    },
  });
}

async function pump(stream: TickStream, received: Map<string, number>, conditions: Conditions): Promise<void> {
  for await (const message of stream) {
    received.set(message.topic, (received.get(message.topic) ?? 0) + 1);
    conditions.check();
  }
}

test('chained proxies under CURVE: a feed on the root, a regional proxy linked upstream with its own key, a subscriber on the region reads it', async (t) => {
  const keys = fabricKeys(t, { feed: ['publishers'], region: ['subscribers'], reader: ['subscribers'] });
  const options = { frontend: 'tcp://127.0.0.1:*', backend: 'tcp://127.0.0.1:*', frontendHwm: 1000, backendHwm: 1000, socket: TEST_SOCKETS, mode: 'js' as const };
  const rootSecurity = keys.security('root');
  const regionSecurity = keys.security('region');
  const root = await startProxy(options, log, rootSecurity);
  const region = await startProxy({ ...options, upstream: [root.backendEndpoint], upstreamHeartbeat: { intervalMs: 200, timeoutMs: 1000 } }, log, regionSecurity);
  const readerSecurity = keys.security('reader');
  const conditions = new Conditions();
  const received = new Map<string, number>();
  const reader = streamOf(region.backendEndpoint, readerSecurity, conditions);
  const feedSecurity = keys.security('feed');
  const publisher = new TickPublisher({ endpoints: [root.frontendEndpoint], sendHwm: 1000, queueLimit: 1000, socket: TEST_SOCKETS, subscriberWaitMs: WAIT_MS, curve: feedSecurity.clientKeys() }, log);
  t.teardown(async () => {
    reader.close();
    await publisher.close();
    await region.close();
    await root.close();
    for (const security of [rootSecurity, regionSecurity, readerSecurity, feedSecurity]) await security.close();
  });
  void pump(reader, received, conditions);
  region.onUpstreamChange(() => conditions.check());
  await conditions.until(() => region.upstreamReady(), WAIT_MS, () => 'the region to be linked to the root over CURVE');
  // Resolves once the reader's subscription has come up through the region and the root to the feed.
  await publisher.connect();
  publisher.publish({ venue: 'SIM', symbol: 'BTC-USD', bid: 1, ask: 2 });
  await conditions.until(() => received.get('tick.SIM.BTC-USD') === 1, WAIT_MS, () => `the tick at the regional reader; got ${JSON.stringify([...received])}`);
  t.pass();
});

test('a js proxy under CURVE offers no in-process line: a reader in its own process connects, and ZAP admits it by its key', async (t) => {
  const keys = fabricKeys(t, { reader: ['subscribers'] });
  const proxySecurity = keys.security('proxy');
  const readerSecurity = keys.security('reader');
  const proxy = await startProxy({ frontend: 'tcp://127.0.0.1:*', backend: 'tcp://127.0.0.1:*', frontendHwm: 1000, backendHwm: 1000, socket: TEST_SOCKETS, mode: 'js' }, log, proxySecurity);
  const conditions = new Conditions();
  const stream = streamOf(proxy.backendEndpoint, readerSecurity, conditions);
  t.teardown(async () => {
    stream.close();
    await proxy.close();
    for (const security of [proxySecurity, readerSecurity]) await security.close();
  });
  t.is(localBackendAt(proxy.backendEndpoint), undefined);
  await conditions.until(() => stream.up, WAIT_MS, () => 'the reader to connect through ZAP');
  t.is(proxy.peers().subscribers, 1, 'the reader came over a socket');
});

for (const mode of ['native', 'js'] as ForwardingMode[]) {
  test.serial(`${mode} proxy: a subscriber key removed from curve.subscribers loses its connection within seconds; another subscriber reconnects and reads on`, async (t) => {
    const keys = fabricKeys(t, { feed: ['publishers'], kept: ['subscribers'], revoked: ['subscribers'] });
    const proxySecurity = keys.security('proxy');
    const proxy = await startProxy({ frontend: 'tcp://127.0.0.1:*', backend: 'tcp://127.0.0.1:*', frontendHwm: 1000, backendHwm: 1000, socket: TEST_SOCKETS, mode }, log, proxySecurity);
    const conditions = new Conditions();
    const kept = new Map<string, number>();
    const revoked = new Map<string, number>();
    const revokedLines: boolean[] = [];
    const [keptSecurity, revokedSecurity, feedSecurity] = ['kept', 'revoked', 'feed'].map((name) => keys.security(name)) as [FabricSecurity, FabricSecurity, FabricSecurity];
    const keptStream = streamOf(proxy.backendEndpoint, keptSecurity, conditions);
    const revokedStream = streamOf(proxy.backendEndpoint, revokedSecurity, conditions, revokedLines);
    const publisher = new TickPublisher({ endpoints: [proxy.frontendEndpoint], sendHwm: 1000, queueLimit: 1000, socket: TEST_SOCKETS, subscriberWaitMs: WAIT_MS, curve: feedSecurity.clientKeys() }, log);
    t.teardown(async () => {
      keptStream.close();
      revokedStream.close();
      await publisher.close();
      await proxy.close();
      for (const security of [proxySecurity, keptSecurity, revokedSecurity, feedSecurity]) await security.close();
    });
    void pump(keptStream, kept, conditions);
    void pump(revokedStream, revoked, conditions);
    await publisher.connect();
    const tick = (bid: number) => publisher.publish({ venue: 'SIM', symbol: 'BTC-USD', bid, ask: bid + 1 });
    tick(1);
    await conditions.until(() => kept.size === 1 && revoked.size === 1, WAIT_MS, () => 'the first tick at both subscribers');

    unlinkSync(join(keys.dir, 'subscribers', 'revoked.key'));
    await conditions.until(() => revokedLines.includes(false), WAIT_MS, () => 'the revoked subscriber to be disconnected');
    // The kept subscriber reconnects through ZAP again; its next tick shows it (the publisher waits for its subscription).
    await conditions.until(() => keptStream.up, WAIT_MS, () => 'the kept subscriber to reconnect');
    await publisher.connect();
    // Until its subscription has travelled through the rebuilt proxy to the publisher, a tick
    // is dropped (ZeroMQ's slow joiner): one every 50 ms until one arrives, for at most WAIT_MS.
    const deadline = performance.now() + WAIT_MS;
    for (let bid = 2; kept.get('tick.SIM.BTC-USD')! < 2; bid++) {
      if (performance.now() > deadline) throw new Error('no tick reached the kept subscriber after the rebuild');
      tick(bid);
      await conditions.until(() => kept.get('tick.SIM.BTC-USD')! >= 2, 50, () => '').catch(() => undefined);
    }
    t.is(revoked.get('tick.SIM.BTC-USD'), 1, 'the revoked subscriber read nothing after its key was removed');
    t.false(revokedStream.up, 'and is not connected again');
  });
}

test('a key directory is read again when it changes: a removed key is revoked, a bad file is left out and counted, an unreadable directory keeps the keys held', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tickfan-keydir-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const made = join(dir, 'made');
  const keysDir = join(dir, 'keys');
  mkdirSync(keysDir);
  const [a, b, c] = ['a', 'b', 'c'].map((name) => writeKeyPair(made, name));
  copyFileSync(a!.publicFile, join(keysDir, 'a.key'));
  copyFileSync(b!.publicFile, join(keysDir, 'b.key'));
  const changes: boolean[] = [];
  const conditions = new Conditions();
  const directory = new KeyDirectory(keysDir, 'curve.subscribers', log, (revoked) => {
    changes.push(revoked);
    conditions.check();
  }, 20);
  t.teardown(() => directory.close());
  const key = (publicKey: string) => (decodeKey(publicKey) as { bytes: Buffer }).bytes;
  t.is(directory.size, 2);
  t.true(directory.allows(key(a!.publicKey)) && directory.allows(key(b!.publicKey)));

  unlinkSync(join(keysDir, 'b.key'));
  await conditions.until(() => changes.length === 1, WAIT_MS, () => 'the removal to be seen');
  t.deepEqual(changes, [true], 'a removal is a revocation');
  t.false(directory.allows(key(b!.publicKey)));

  writeFileSync(join(keysDir, 'typo.key'), 'curve\n    public-key = "short"\n');
  copyFileSync(c!.publicFile, join(keysDir, 'c.key'));
  await conditions.until(() => changes.length === 2, WAIT_MS, () => 'the additions to be seen');
  t.deepEqual(changes, [true, false], 'an addition is not a revocation');
  t.is(directory.size, 2, 'a and c are allowed, the bad file is left out');
  t.is(directory.reloadFailures, 1, 'and counted');

  rmSync(keysDir, { recursive: true });
  // A failed read tells no one (there is no change to report), so only polling sees it.
  await pollUntil(async () => directory.reloadFailures >= 2, 'the unreadable directory to be counted', WAIT_MS, 20);
  t.is(directory.size, 2, 'the keys held are kept while the directory cannot be read');
});
