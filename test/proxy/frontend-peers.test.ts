/**
 * FrontendPeers from monitor events alone, as libzmq reports them: an accepted connection by
 * its local address, an outgoing one by the address its 'connect' event announced, which after a
 * reconnection is the resolved one; with two upstreams on one port only their hosts' addresses
 * tell them apart.
 */
import { EventEmitter } from 'node:events';
import test from 'ava';
import type { XSubscriber } from 'zeromq';
import { createLogger } from '../../src/log/index.js';
import { FrontendPeers, type UpstreamState } from '../../src/proxy/frontend-peers.js';
import { Conditions } from '../helpers/conditions.js';

const HOSTS: Record<string, string[]> = { 'root-a': ['10.0.0.1'], 'root-b': ['10.0.0.2', 'fd00::2'] };

/** Peers of a stand-in frontend whose monitor events the test emits, and the upstream changes they report. */
function peersOf(endpoints: string[]) {
  const events = new EventEmitter();
  const peers = new FrontendPeers(endpoints, createLogger('silent'), async (host) => HOSTS[host] ?? []);
  peers.watch({ events } as unknown as XSubscriber);
  const changes: UpstreamState[] = [];
  const conditions = new Conditions();
  peers.onUpstreamChange((state) => {
    changes.push(state);
    conditions.check();
  });
  const emit = (type: 'accept' | 'connect' | 'handshake' | 'disconnect', address: string) => events.emit(type, { type, address });
  /** Resolves once `count` changes were reported (events wait their turn behind lookups). */
  const settled = (count: number) => conditions.until(() => changes.length >= count, 5_000, () => `${count} changes, got ${JSON.stringify(changes)}`);
  return { peers, changes, emit, settled };
}

test('a reconnection reported by resolved address counts for the upstream whose host resolves to it', async (t) => {
  const { peers, changes, emit, settled } = peersOf(['tcp://root-a:5556', 'tcp://root-b:5556']);
  for (const address of ['tcp://root-a:5556', 'tcp://[fd00::2]:5556']) {
    emit('connect', address);
    emit('handshake', address);
  }
  emit('disconnect', 'tcp://root-a:5556');
  emit('connect', 'tcp://10.0.0.1:5556');
  emit('handshake', 'tcp://10.0.0.1:5556');
  await settled(4);
  t.deepEqual(changes, [
    { endpoint: 'tcp://root-a:5556', connected: true, connects: 1 },
    { endpoint: 'tcp://root-b:5556', connected: true, connects: 1 },
    { endpoint: 'tcp://root-a:5556', connected: false, connects: 1 },
    { endpoint: 'tcp://root-a:5556', connected: true, connects: 2 },
  ]);
  t.true(peers.anyUpstreamConnected());
  t.is(peers.publishers(), 0, 'upstream links are no local publishers');
});

test('local feeds count as publishers, even under a wildcard bind on an upstream\'s port, and change no upstream', async (t) => {
  const { peers, changes, emit, settled } = peersOf(['tcp://root-a:5555']);
  // Bound to tcp://0.0.0.0:5555, libzmq names an accepted connection by its local address.
  for (const local of ['tcp://127.0.0.1:5555', 'tcp://10.9.9.9:5555']) {
    emit('accept', local);
    emit('handshake', local);
  }
  t.is(peers.publishers(), 2);
  emit('disconnect', 'tcp://127.0.0.1:5555');
  t.is(peers.publishers(), 1);
  emit('connect', 'tcp://root-a:5555');
  emit('handshake', 'tcp://root-a:5555');
  await settled(1);
  t.deepEqual(changes, [{ endpoint: 'tcp://root-a:5555', connected: true, connects: 1 }]);
  t.is(peers.publishers(), 1);
});

test('a connection the upstream closes before the handshake (not an XPUB) leaves it disconnected', async (t) => {
  const { peers, changes, emit, settled } = peersOf(['tcp://root-a:5556']);
  emit('connect', 'tcp://root-a:5556');
  emit('disconnect', 'tcp://root-a:5556');
  emit('connect', 'tcp://10.0.0.1:5556');
  emit('handshake', 'tcp://10.0.0.1:5556');
  await settled(1);
  t.deepEqual(changes, [{ endpoint: 'tcp://root-a:5556', connected: true, connects: 1 }], 'only the handshake is a change');
  t.is(peers.publishers(), 0);
});

test('with no upstream configured the frontend is ready and lists none', (t) => {
  const { peers } = peersOf([]);
  t.true(peers.anyUpstreamConnected());
  t.deepEqual(peers.list(), []);
});
