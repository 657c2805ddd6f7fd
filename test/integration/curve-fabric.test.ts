import test, { type ExecutionContext } from 'ava';
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect } from '../../src/client/ws/index.js';
import { loadCertificate } from '../../src/curve/index.js';
import { ipcDir, privateFabricEnv, runTickfan, TickfanProcess, withTimeout } from '../helpers/tickfan-process.js';

/**
 * PROTOCOL.md section 7 from outside: a tickfan all-in-one with curve.enabled, and peers in
 * Debian's python3-zmq (test/interop/curve_fabric.py) on certificates of
 * zmq.auth.create_certificates. Allowed keys read every tick and snapshots and publish;
 * unknown keys, plain sockets, a subscriber's key publishing and a publisher's key reading get
 * nothing and inject nothing that any subscriber, the snapshot service or a WebSocket client
 * sees; a key removed from its directory stops working within seconds.
 */

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../interop/curve_fabric.py', import.meta.url));
const CERTS = fileURLToPath(new URL('../interop/curve_certs.py', import.meta.url));

interface Keys {
  readonly dir: string;
  readonly serverPublic: string;
  /** Secret certificates by name: node (tickfan's own), reader, feeder, keeper (both), stranger. */
  readonly secret: Record<'node' | 'reader' | 'feeder' | 'keeper' | 'stranger', string>;
  readonly publishers: string;
  readonly subscribers: string;
}

async function makeKeys(t: ExecutionContext): Promise<Keys> {
  const dir = mkdtempSync(join(tmpdir(), 'tickfan-curve-fabric-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const made = join(dir, 'made');
  for (const name of ['server', 'node']) {
    const { code, stderr } = await runTickfan(['keys', made, name]);
    if (code !== 0) throw new Error(`tickfan keys: ${stderr}`);
  }
  for (const name of ['reader', 'feeder', 'keeper', 'stranger']) {
    await promisify(execFile)(PYTHON, [CERTS, 'create', made, name], { timeout: 15_000 });
  }
  const publishers = join(dir, 'publishers');
  const subscribers = join(dir, 'subscribers');
  mkdirSync(publishers);
  mkdirSync(subscribers);
  // The all-in-one's own key publishes (its feed) and reads (its gateway and snapshot service).
  for (const [name, into] of [['node', publishers], ['node', subscribers], ['feeder', publishers], ['reader', subscribers], ['keeper', publishers], ['keeper', subscribers]] as const) {
    copyFileSync(join(made, `${name}.key`), join(into, `${name}.key`));
  }
  const secret = (name: string) => join(made, `${name}.key_secret`);
  return {
    dir, serverPublic: join(made, 'server.key'), publishers, subscribers,
    secret: { node: secret('node'), reader: secret('reader'), feeder: secret('feeder'), keeper: secret('keeper'), stranger: secret('stranger') },
  };
}

function curveEnv(keys: Keys): Record<string, string> {
  return {
    TICKFAN_CURVE_ENABLED: 'true',
    TICKFAN_CURVE_SERVER_CERTIFICATE: join(keys.dir, 'made', 'server.key_secret'),
    TICKFAN_CURVE_SERVER_KEY: keys.serverPublic,
    TICKFAN_CURVE_CERTIFICATE: keys.secret.node,
    TICKFAN_CURVE_PUBLISHERS: keys.publishers,
    TICKFAN_CURVE_SUBSCRIBERS: keys.subscribers,
  };
}

async function startSecured(t: ExecutionContext, keys: Keys) {
  const dir = ipcDir();
  const env = { ...privateFabricEnv(dir), ...curveEnv(keys), TICKFAN_FEEDS_SIMULATED_RATE: '200' };
  const tickfan = new TickfanProcess(['start'], env);
  t.teardown(() => {
    tickfan.kill();
    dir.cleanup();
  });
  const { port } = await tickfan.waitForLog('gateway listening');
  const metricsPort = (await tickfan.waitForLog('metrics listening')).port as number;
  await tickfan.waitForLog('tickfan started');
  return { tickfan, env, url: `ws://127.0.0.1:${String(port)}`, metrics: `http://127.0.0.1:${metricsPort}/metrics` };
}

/** `--client-cert FILE` for a keyed peer, nothing for a plain one. */
function keyArgs(keys: Keys, who: keyof Keys['secret'] | 'plain'): string[] {
  return who === 'plain' ? [] : ['--server-cert', keys.serverPublic, '--client-cert', keys.secret[who]];
}

async function python<T>(args: readonly string[]): Promise<T> {
  const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, ...args], { timeout: 30_000 });
  return JSON.parse(stdout) as T;
}

interface TopicSeen { count: number; gaps: number; epochs: number; lastAtMs: number }

/** A python3-zmq SUB on the backend until stop(); `first(topic)` resolves when that topic first arrives. */
function pythonSubscriber(t: ExecutionContext, endpoint: string, keyed: readonly string[]) {
  const child = spawn(PYTHON, [SCRIPT, 'subscribe', endpoint, ...keyed], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  const lines: { event?: string; topic?: string; topics?: Record<string, TopicSeen> }[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(JSON.parse(line) as (typeof lines)[number]);
    for (const wake of waiters.splice(0)) wake();
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const seen = (test: (line: (typeof lines)[number]) => boolean) => lines.some(test);
  return {
    first: (topic: string) => withTimeout(new Promise<void>((resolve) => {
      const check = () => (seen((l) => l.topic === topic) ? resolve() : waiters.push(check));
      check();
    }), 10_000, `the python subscriber to receive ${topic}`),
    async stop(): Promise<Record<string, TopicSeen>> {
      child.stdin.end('stop\n');
      await withTimeout(exited, 10_000, 'the python subscriber to stop');
      return lines.find((l) => l.topics !== undefined)!.topics!;
    },
  };
}

async function deniedByEndpoint(metrics: string): Promise<Map<string, number>> {
  const text = await (await fetch(metrics)).text();
  const denied = new Map<string, number>();
  for (const [, endpoint, count] of text.matchAll(/^tickfan_zap_denied_total\{endpoint="([^"]+)"\} (\d+)$/gm)) denied.set(endpoint!, Number(count));
  return denied;
}

test('with curve.enabled, allowed python3-zmq keys read every tick and snapshots and publish; no key, an unknown key, a subscriber key publishing and a publisher key reading get and inject nothing', async (t) => {
  const keys = await makeKeys(t);
  const { env, url, metrics } = await startSecured(t, keys);
  const client = await connect(url);
  t.teardown(() => client.close());
  await client.subscribe('*', { conflate: false });

  const reader = pythonSubscriber(t, env.TICKFAN_CONNECT_BACKEND, keyArgs(keys, 'reader'));
  const refusedReaders = (['plain', 'stranger', 'feeder'] as const).map((who) => ({ who, sub: pythonSubscriber(t, env.TICKFAN_CONNECT_BACKEND, keyArgs(keys, who)) }));
  await reader.first('tick.SIM.BTC-USD');

  const frontend = env.TICKFAN_PROXY_FRONTEND;
  const ingest = env.TICKFAN_FEEDS_INGEST_ENDPOINT;
  const publish = (endpoint: string, who: keyof Keys['secret'] | 'plain', topic: string, push = false) =>
    python<{ sent: number }>(['publish', endpoint, ...keyArgs(keys, who), '--topic', topic, '--seconds', '2', ...(push ? ['--push'] : [])]);
  const attempts = await Promise.all([
    publish(frontend, 'feeder', 'tick.GOOD.PUB'),
    publish(ingest, 'feeder', 'tick.GOOD.PUSH', true),
    publish(frontend, 'plain', 'tick.EVIL.PLAIN'),
    publish(frontend, 'stranger', 'tick.EVIL.STRANGER'),
    publish(frontend, 'reader', 'tick.EVIL.READER'),
    publish(ingest, 'plain', 'tick.EVIL.PLAINPUSH', true),
    publish(ingest, 'reader', 'tick.EVIL.READERPUSH', true),
  ]);
  t.true(attempts.slice(2, 5).every(({ sent }) => sent > 50), 'the refused PUBs did send, for 2 s each (a PUB drops what no peer takes)');
  // A refused PUSH queues what it sends on a connection that never completes its handshake: only what arrives matters.
  t.true(attempts[1]!.sent > 50, 'the allowed PUSH sent');
  await reader.first('tick.GOOD.PUB');
  await reader.first('tick.GOOD.PUSH');

  const seen = await reader.stop();
  const topics = Object.keys(seen);
  t.deepEqual(topics.filter((topic) => topic.includes('EVIL')), [], 'nothing a refused peer sent reached the allowed subscriber');
  const ticks = Object.entries(seen).filter(([topic]) => topic.startsWith('tick.SIM'));
  t.true(ticks.length >= 20, `the allowed subscriber read the simulated feed (${ticks.length} topics)`);
  t.deepEqual(ticks.filter(([, s]) => s.gaps > 0 || s.epochs !== 1).map(([topic]) => topic), [], 'and every tick of it: no seq missing, one run');
  for (const { who, sub } of refusedReaders) t.deepEqual(await sub.stop(), {}, `a ${who} SUB on the backend received nothing`);

  // The same 1 s as the refused REQs below get, so their silence is a refusal, not slowness.
  const snapshot = await python<{ reply: string | null; topics: string[] }>(['snapshot', env.TICKFAN_CONNECT_SNAPSHOT, 'tick.', ...keyArgs(keys, 'reader'), '--timeout-ms', '1000']);
  t.is(snapshot.reply, 'OK');
  t.true(snapshot.topics.includes('tick.GOOD.PUSH') && snapshot.topics.includes('tick.SIM.BTC-USD'), 'SNAPSHOT over CURVE holds the allowed sources');
  t.deepEqual(snapshot.topics.filter((topic) => topic.includes('EVIL')), [], 'and nothing of the refused ones');
  for (const who of ['plain', 'stranger', 'feeder'] as const) {
    const refused = await python<{ reply: string | null }>(['snapshot', env.TICKFAN_CONNECT_SNAPSHOT, 'tick.', ...keyArgs(keys, who), '--timeout-ms', '1000']);
    t.is(refused.reply, null, `a ${who} REQ gets no snapshot`);
  }

  const held = [...client.entries()].map(([topic]) => topic);
  t.true(held.includes('tick.GOOD.PUB'), 'the WebSocket client got the allowed publisher');
  t.deepEqual(held.filter((topic) => topic.includes('EVIL')), [], 'and nothing of the refused ones');

  // The CLI's own clients connect with curve.certificate too: live, and state from SNAPSHOT first.
  for (const args of [['tail', 'tick.SIM.', '--count', '3'], ['tail', 'tick.SIM.', '--snapshot', '--count', '3']]) {
    const tail = await runTickfan(args, env);
    t.is(tail.code, 0, `tickfan ${args.join(' ')} over CURVE: ${tail.stderr}`);
    t.is(tail.stdout.split('\n').filter((line) => line.startsWith('tick.SIM.')).length, 3);
  }

  const denied = await deniedByEndpoint(metrics);
  for (const endpoint of [frontend, ingest, env.TICKFAN_CONNECT_BACKEND, env.TICKFAN_CONNECT_SNAPSHOT]) {
    t.true((denied.get(endpoint) ?? 0) > 0, `refusals counted on ${endpoint}`);
  }
});

test('a key removed from its directory stops working within seconds, without a restart: a connected publisher, then a connected subscriber; the sockets rebuilt meanwhile (proxy, ingest, snapshot service) serve the other keys on', async (t) => {
  const keys = await makeKeys(t);
  const { tickfan, env } = await startSecured(t, keys);
  const reader = pythonSubscriber(t, env.TICKFAN_CONNECT_BACKEND, keyArgs(keys, 'reader'));
  const publishing = python<{ sent: number }>(['publish', env.TICKFAN_PROXY_FRONTEND, ...keyArgs(keys, 'feeder'), '--topic', 'tick.GOOD.REVOKED', '--seconds', '9']);
  await reader.first('tick.GOOD.REVOKED');

  const feederKey = loadCertificate(join(keys.publishers, 'feeder.key')).publicKey;
  unlinkSync(join(keys.publishers, 'feeder.key'));
  const publisherRevokedAt = Date.now();
  await tickfan.waitForLog('connections dropped after a key was revoked; allowed peers reconnect', (l) => l.peers === 'publishers', 5000);
  await tickfan.waitForLog('CURVE peer refused on this endpoint', (l) => l.key === feederKey, 5000);
  // The reader keeps reading for a while after the publisher's revocation, to show it is gone for good.
  await new Promise((resolve) => setTimeout(resolve, 1500));

  writeFileSync(join(keys.subscribers, 'unrelated.txt'), 'not a certificate: ignored');
  unlinkSync(join(keys.subscribers, 'reader.key'));
  const subscriberRevokedAt = Date.now();
  await tickfan.waitForLog('connections dropped after a key was revoked; allowed peers reconnect', (l) => l.peers === 'subscribers', 5000);
  await publishing;
  const seen = await reader.stop();

  const revoked = seen['tick.GOOD.REVOKED']!;
  t.true(revoked.lastAtMs < publisherRevokedAt + 3000, `the removed publisher's ticks stopped within 3 s (${Math.round(revoked.lastAtMs - publisherRevokedAt)} ms)`);
  const simulated = Object.entries(seen).filter(([topic]) => topic.startsWith('tick.SIM'));
  const lastRead = Math.max(...simulated.map(([, s]) => s.lastAtMs));
  t.true(lastRead > publisherRevokedAt + 1000, 'the reader still read after the publisher was revoked');
  t.true(lastRead < subscriberRevokedAt + 3000, `the removed subscriber stopped reading within 3 s (${Math.round(lastRead - subscriberRevokedAt)} ms)`);

  // A key still in both directories publishes through the rebuilt ingest and reads it back from the rebuilt snapshot service.
  await python(['publish', env.TICKFAN_FEEDS_INGEST_ENDPOINT, ...keyArgs(keys, 'keeper'), '--topic', 'tick.GOOD.AFTER', '--seconds', '1', '--push']);
  const after = await python<{ reply: string | null; topics: string[] }>(['snapshot', env.TICKFAN_CONNECT_SNAPSHOT, 'tick.', ...keyArgs(keys, 'keeper')]);
  t.is(after.reply, 'OK', 'the snapshot service answers after its rebuild');
  t.true(after.topics.includes('tick.GOOD.AFTER') && after.topics.includes('tick.SIM.BTC-USD'), 'and holds what was published through the rebuilt ingest and proxy');
  const revoked2 = await python<{ reply: string | null }>(['snapshot', env.TICKFAN_CONNECT_SNAPSHOT, 'tick.', ...keyArgs(keys, 'reader'), '--timeout-ms', '1000']);
  t.is(revoked2.reply, null, 'the revoked reader gets no snapshot');
});

test('curve.enabled start-up refuses with exit 2 and names the setting: certificate missing, not a file, malformed, a public one where a secret is needed; a key directory missing', async (t) => {
  const keys = await makeKeys(t);
  const garbage = join(keys.dir, 'garbage.key_secret');
  writeFileSync(garbage, 'curve\n    public-key = "short"\n');
  const typoDir = join(keys.dir, 'typo-publishers');
  mkdirSync(typoDir);
  copyFileSync(join(keys.publishers, 'node.key'), join(typoDir, 'node.key'));
  writeFileSync(join(typoDir, 'typo.key'), 'curve\n    public-key = "short"\n');
  const cases: [roles: string, env: Record<string, string>, expected: RegExp][] = [
    ['proxy', { TICKFAN_CURVE_SERVER_CERTIFICATE: '' }, /curve\.serverCertificate: not set/],
    ['proxy', { TICKFAN_CURVE_SERVER_CERTIFICATE: join(keys.dir, 'nope.key_secret') }, /curve\.serverCertificate: certificate .*nope\.key_secret: no such file/],
    ['proxy', { TICKFAN_CURVE_SERVER_CERTIFICATE: keys.dir }, /curve\.serverCertificate: certificate .*: cannot read it \(EISDIR\)/],
    ['proxy', { TICKFAN_CURVE_SERVER_CERTIFICATE: garbage }, /curve\.serverCertificate: certificate .*garbage\.key_secret: public-key is malformed/],
    ['gateway', { TICKFAN_CURVE_CERTIFICATE: keys.serverPublic }, /curve\.certificate: certificate .*server\.key: no secret-key/],
    ['gateway', { TICKFAN_CURVE_SERVER_KEY: '' }, /curve\.serverKey: not set/],
    ['proxy', { TICKFAN_CURVE_PUBLISHERS: join(keys.dir, 'none') }, /curve\.publishers: certificate directory .*none: cannot read it \(ENOENT\)/],
    ['snapshot', { TICKFAN_CURVE_SUBSCRIBERS: '' }, /curve\.subscribers: not set/],
    // The feed role's ingest binds later, under its supervisor: its start-up refuses all the same.
    ['feed', { TICKFAN_CURVE_PUBLISHERS: typoDir }, /curve\.publishers: certificate .*typo\.key: public-key is malformed/],
  ];
  const dir = ipcDir();
  t.teardown(() => dir.cleanup());
  const results = await Promise.all(cases.map(([roles, env]) => runTickfan(['start', '--roles', roles], { ...privateFabricEnv(dir), ...curveEnv(keys), ...env })));
  for (const [i, { code, stderr }] of results.entries()) {
    const [roles, env, expected] = cases[i]!;
    t.is(code, 2, `${roles} with ${JSON.stringify(env)} exits 2`);
    t.regex(stderr, expected);
  }
});
