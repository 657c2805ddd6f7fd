/**
 * UpstreamLinks from monitor events alone: libzmq names a reconnection by the address it
 * resolved, so with two upstreams on one port only their hosts' addresses tell them apart.
 */
import { EventEmitter } from 'node:events';
import test from 'ava';
import type { XSubscriber } from 'zeromq';
import { createLogger } from '../../src/log/index.js';
import { UpstreamLinks, type UpstreamState } from '../../src/proxy/upstream.js';
import { Conditions } from '../helpers/conditions.js';

const LOCAL = 'tcp://0.0.0.0:5555';
const HOSTS: Record<string, string[]> = { 'root-a': ['10.0.0.1'], 'root-b': ['10.0.0.2', 'fd00::2'] };

/** Links on a stand-in frontend whose monitor events the test emits, and the changes they report. */
function linksOn(endpoints: string[]) {
  const events = new EventEmitter();
  const links = new UpstreamLinks(endpoints, createLogger('silent'), async (host) => HOSTS[host] ?? []);
  links.watch({ events } as unknown as XSubscriber, LOCAL);
  const changes: UpstreamState[] = [];
  const conditions = new Conditions();
  links.onChange((state) => {
    changes.push(state);
    conditions.check();
  });
  const emit = (type: 'handshake' | 'disconnect', address: string) => events.emit(type, { type, address });
  /** Resolves once `count` changes were reported (events wait their turn behind lookups). */
  const settled = (count: number) => conditions.until(() => changes.length >= count, 5_000, () => `${count} changes, got ${JSON.stringify(changes)}`);
  return { links, changes, emit, settled };
}

test('a reconnection reported by resolved address counts for the upstream whose host resolves to it', async (t) => {
  const { links, changes, emit, settled } = linksOn(['tcp://root-a:5556', 'tcp://root-b:5556']);
  emit('handshake', 'tcp://root-a:5556');
  emit('handshake', 'tcp://[fd00::2]:5556');
  emit('disconnect', 'tcp://10.0.0.1:5556');
  await settled(3);
  t.deepEqual(changes, [
    { endpoint: 'tcp://root-a:5556', connected: true, connects: 1 },
    { endpoint: 'tcp://root-b:5556', connected: true, connects: 1 },
    { endpoint: 'tcp://root-a:5556', connected: false, connects: 1 },
  ]);
  t.true(links.anyConnected(), 'root-b is still connected');
});

test('local feeds on the bound frontend and connections refused before the handshake change no upstream', async (t) => {
  const { links, changes, emit, settled } = linksOn(['tcp://root-a:5556']);
  emit('handshake', LOCAL);
  emit('disconnect', LOCAL);
  // An incompatible socket type (say another proxy's XSUB frontend) is closed by libzmq without a handshake.
  emit('disconnect', 'tcp://root-a:5556');
  emit('handshake', 'tcp://root-a:5556');
  await settled(1);
  t.deepEqual(changes, [{ endpoint: 'tcp://root-a:5556', connected: true, connects: 1 }]);
  t.deepEqual(links.list(), [{ endpoint: 'tcp://root-a:5556', connected: true, connects: 1 }]);
});

test('with no upstream configured the links are ready and empty', (t) => {
  const { links } = linksOn([]);
  t.true(links.anyConnected());
  t.deepEqual(links.list(), []);
});
