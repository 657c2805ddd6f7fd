import test from 'ava';
import { Publisher } from 'zeromq';
import { TickStream } from '../../src/client/zmq/index.js';
import { encodeHeader } from '../../src/wire/index.js';
import { byTopic, collect, firstGap } from '../helpers/streams.js';
import { ipcDir, runTickfan, TickfanProcess, privateFabricEnv } from '../helpers/tickfan-process.js';

/** Each test gets its own ipc endpoints, so tests run in parallel without port clashes. */
function endpoints() {
  const dir = ipcDir();
  const env = {
    ...privateFabricEnv(dir),
    TICKFAN_FEEDS_SIMULATED_RATE: '10000',
  };
  return { env, backend: env.TICKFAN_PROXY_BACKEND, frontend: env.TICKFAN_PROXY_FRONTEND, cleanup: dir.cleanup };
}

async function startRole(role: string, env: Record<string, string>): Promise<TickfanProcess> {
  const proc = new TickfanProcess(['start', '--roles', role], env);
  await proc.waitForLog('tickfan started');
  return proc;
}

test('proxy and feed as separate processes deliver contiguous ticks; a restarted feed has a new epoch and starts at seq 1', async (t) => {
  const { env, backend, cleanup } = endpoints();
  const processes: TickfanProcess[] = [];
  t.teardown(() => {
    processes.forEach((p) => p.kill());
    cleanup();
  });
  processes.push(await startRole('proxy', env));
  const stream = new TickStream({ endpoint: backend, prefixes: ['tick.'] });
  t.teardown(() => stream.close());

  const firstFeed = await startRole('feed', env);
  processes.push(firstFeed);
  const first = await collect(stream, 10_000);
  const firstRun = byTopic(first);
  t.is(firstRun.size, 50);
  const [firstEpoch] = firstRun.values().next().value!.epochs;
  for (const [topic, { seqs, epochs }] of firstRun) {
    t.is(seqs[0], 1, `${topic} starts at 1`);
    t.is(firstGap(seqs), undefined, topic);
    t.deepEqual([...epochs], [firstEpoch!]);
  }

  const stopped = await firstFeed.stop('SIGTERM');
  t.is(stopped.code, 0, 'the feed exits 0 on SIGTERM');
  t.true(stopped.elapsedMs < 2000, `the feed exited within 2 s (took ${stopped.elapsedMs.toFixed(0)} ms)`);

  processes.push(await startRole('feed', env));
  // Ticks of the first run still in flight are skipped; the second run's must start at 1.
  const second = (await collect(stream, 12_000)).filter((m) => m.header.epoch !== firstEpoch);
  const secondRun = byTopic(second);
  t.true(second.length >= 5_000, `the restarted feed delivered ${second.length} ticks`);
  for (const [topic, { seqs, epochs }] of secondRun) {
    t.is(epochs.size, 1, `${topic}: one new epoch`);
    t.not([...epochs][0], firstEpoch, `${topic}: the epoch changed`);
    t.is(seqs[0], 1, `${topic}: seq restarts at 1`);
    t.is(firstGap(seqs), undefined, topic);
  }
});

test('tickfan tail prints decoded ticks of its prefix only, and exits 0 on SIGINT', async (t) => {
  const { env, cleanup } = endpoints();
  const proxy = await startRole('proxy', env);
  const feed = await startRole('feed', env);
  const tail = new TickfanProcess(['tail', 'tick.SIMEQ.'], env);
  t.teardown(() => {
    [proxy, feed, tail].forEach((p) => p.kill());
    cleanup();
  });
  await tail.waitForStdoutLines(20);
  for (const line of tail.stdoutLines.slice(0, 20)) {
    t.regex(line, /^tick\.SIMEQ\.\S+ epoch=\d+ seq=\d+ latency=-?\d+\.\d{3}ms \{"venue":"SIMEQ",/);
  }
  const stopped = await tail.stop('SIGINT');
  t.is(stopped.code, 0);
  t.true(stopped.elapsedMs < 2000);
});

test('tickfan tail --json --count N prints N JSON lines and exits 0', async (t) => {
  const { env, cleanup } = endpoints();
  const proxy = await startRole('proxy', env);
  const feed = await startRole('feed', env);
  t.teardown(() => {
    [proxy, feed].forEach((p) => p.kill());
    cleanup();
  });
  const { code, stdout } = await runTickfan(['tail', 'tick.SIM.BTC-USD', '--json', '--count', '3'], env);
  t.is(code, 0);
  const lines = stdout.split('\n').map((line) => JSON.parse(line));
  t.is(lines.length, 3);
  for (const line of lines) {
    t.is(line.topic, 'tick.SIM.BTC-USD');
    t.is(line.record.symbol, 'BTC-USD');
    t.true(Number.isSafeInteger(line.seq) && Number.isSafeInteger(line.epoch) && Number.isSafeInteger(line.latencyUs));
  }
});

test('the all-in-one process stops on SIGINT with exit 0 within 2 s', async (t) => {
  const { env, cleanup } = endpoints();
  const proc = await startRole('proxy,snapshot,gateway,feed', env);
  t.teardown(() => {
    proc.kill();
    cleanup();
  });
  const stopped = await proc.stop('SIGINT');
  t.is(stopped.code, 0);
  t.true(stopped.elapsedMs < 2000, `took ${stopped.elapsedMs.toFixed(0)} ms`);
  t.truthy(proc.logs.find((l) => l.msg === 'feed stopped'), 'the feed was stopped');
});

test('garbage sent into the proxy frontend crashes nothing and is counted and dropped at decode', async (t) => {
  const { env, backend, frontend, cleanup } = endpoints();
  const proxy = await startRole('proxy', env);
  const stream = new TickStream({ endpoint: backend, prefixes: [''] });
  const rogue = new Publisher({ linger: 0 });
  rogue.connect(frontend);
  t.teardown(() => {
    proxy.kill();
    stream.close();
    rogue.close();
    cleanup();
  });
  const header = encodeHeader({ flags: 0, epoch: 9, seq: 1, ts: 1 });
  const badVersion = Buffer.from(header);
  badVersion[0] = 2;
  const payload = Buffer.from('{"venue":"X","symbol":"Y","bid":1}');
  const garbage: Buffer[][] = [
    [Buffer.from('tick.X.Y')],
    [Buffer.from('tick.X.Y'), header],
    [Buffer.from('tick.X.Y'), header.subarray(0, 10), payload],
    [Buffer.from('tick.X.Y'), badVersion, payload],
    [Buffer.from('tick.X.Y'), header, Buffer.from('{not json')],
    [Buffer.from('tick.X.Z'), header, payload],
    [Buffer.from('tick.X.Y'), header, payload, Buffer.from('extra')],
  ];
  const valid = (bid: number) => [Buffer.from('tick.X.Y'), header, Buffer.from(`{"venue":"X","symbol":"Y","bid":${bid}}`)];
  // A valid probe goes out until one arrives: the subscription takes a moment to reach the
  // rogue publisher, and whatever it sends before that never leaves it.
  const probe = collect(stream, 1);
  let subscribed = false;
  void probe.then(() => (subscribed = true));
  while (!subscribed) {
    await rogue.send(valid(1));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await probe;
  // Messages of one publisher keep their order, so once the marker arrives every garbage
  // message sent before it has been through the decoder.
  for (const message of garbage) await rogue.send(message);
  await rogue.send(valid(2));
  let message;
  do [message] = await collect(stream, 1);
  while (message!.record.venue === 'X' && (message!.record as { bid: number }).bid === 1);
  t.deepEqual(message!.record, { venue: 'X', symbol: 'Y', bid: 2 }, 'the valid message after the garbage arrives intact');
  const rejected = Object.fromEntries(stream.rejected);
  for (const reason of ['frame_count', 'header', 'version', 'json', 'mismatch']) {
    t.true((rejected[reason] ?? 0) >= 1, `${reason} counted (${JSON.stringify(rejected)})`);
  }
  t.is(proxy.child.exitCode, null, 'the proxy is still running');
});

test('a bad configuration exits 2 with one line naming the key', async (t) => {
  const { code, stderr } = await runTickfan(['start'], { TICKFAN_FEEDS_SIMULATED_RATE: 'fast' });
  t.is(code, 2);
  t.is(stderr.trim(), 'tickfan: feeds.simulated.rate: must be an integer from 1 to 1000000, got "fast"');
});

test('a port already in use is a start-up error naming the endpoint and the setting', async (t) => {
  // ipc:// rebinding silently takes over the path, so this needs a real TCP port.
  const tcp = { TICKFAN_PROXY_FRONTEND: 'tcp://127.0.0.1:*', TICKFAN_PROXY_BACKEND: 'tcp://127.0.0.1:*' };
  const first = await startRole('proxy', tcp);
  t.teardown(() => first.kill());
  const { frontendEndpoint } = await first.waitForLog('proxy listening');
  const { code, stderr } = await runTickfan(['start', '--roles', 'proxy'], { ...tcp, TICKFAN_PROXY_FRONTEND: String(frontendEndpoint) });
  t.is(code, 1);
  t.true(stderr.includes(`cannot bind ${String(frontendEndpoint)} (setting proxy.frontend)`), stderr);
});

test('unknown commands and arguments exit 2 with usage help', async (t) => {
  for (const args of [['launch'], ['start', 'extra'], ['tail'], ['tail', 'x', '--count', '0'], ['start', '--bogus']]) {
    const { code, stderr } = await runTickfan(args);
    t.is(code, 2, args.join(' '));
    t.regex(stderr, /^tickfan: /, args.join(' '));
  }
});
