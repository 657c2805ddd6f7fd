import test from 'ava';
import { readFileSync } from 'node:fs';
import { ipcDir, privateFabricEnv, runTickfan, TickfanProcess } from '../helpers/tickfan-process.js';
import { MockCoinbase } from './mocks/coinbase.js';

/** Private endpoints and files for one test. */
function fabric() {
  const dir = ipcDir();
  const file = (name: string) => dir.endpoint(name).slice('ipc://'.length);
  return { env: privateFabricEnv(dir), file, cleanup: dir.cleanup };
}

async function started(args: readonly string[], env: Record<string, string>, log = 'tickfan started'): Promise<TickfanProcess> {
  const proc = new TickfanProcess(args, env);
  await proc.waitForLog(log);
  return proc;
}

interface Line {
  topic: string;
  epoch: number;
  seq: number;
  ts: number;
  record: Record<string, unknown>;
}

function readLines(file: string): Line[] {
  return readFileSync(file, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as Line);
}

test('record then replay round-trips: the same records in the same order, under a new epoch from seq 1', async (t) => {
  const { env, file, cleanup } = fabric();
  const processes: TickfanProcess[] = [];
  t.teardown(() => {
    processes.forEach((p) => p.kill());
    cleanup();
  });
  const instruments = JSON.stringify(['A', 'B', 'C'].map((symbol) => ({ venue: 'RT', symbol, tickSize: 0.01, startPrice: 10, lotSize: 0.001 })));
  processes.push(await started(['start', '--roles', 'proxy'], env));
  const count = 300;

  const first = await started(['record', 'tick.RT.', file('first.ndjson'), '--count', String(count)], env, 'recording');
  const live = await started(['start', '--roles', 'feed'], { ...env, TICKFAN_FEEDS_SIMULATED_INSTRUMENTS: instruments, TICKFAN_FEEDS_SIMULATED_RATE: '1000' });
  processes.push(first, live);
  t.is((await first.exited).code, 0);
  await live.stop();

  const second = await started(['record', 'tick.RT.', file('second.ndjson'), '--count', String(count)], env, 'recording');
  const replay = await started(['start', '--roles', 'feed'], {
    ...env, TICKFAN_FEEDS_SIMULATED_ENABLED: 'false', TICKFAN_FEEDS_REPLAY_FILE: file('first.ndjson'), TICKFAN_FEEDS_REPLAY_SPEED: '0',
  });
  processes.push(second, replay);
  t.is((await second.exited).code, 0);

  const recorded = readLines(file('first.ndjson'));
  const replayed = readLines(file('second.ndjson'));
  t.is(recorded.length, count);
  t.deepEqual(replayed.map((l) => [l.topic, l.record]), recorded.map((l) => [l.topic, l.record]));
  t.is(new Set(replayed.map((l) => l.epoch)).size, 1);
  t.not(replayed[0]!.epoch, recorded[0]!.epoch, 'the replay is a new source run');
  for (const topic of ['tick.RT.A', 'tick.RT.B', 'tick.RT.C']) {
    const seqs = replayed.filter((l) => l.topic === topic).map((l) => l.seq);
    t.deepEqual(seqs, seqs.map((_, i) => i + 1), `${topic} seq 1.. without holes`);
  }
});

test('the simulated feed publishes status.<venue> up for its venues', async (t) => {
  const { env, cleanup } = fabric();
  const tickfan = await started(['start', '--roles', 'proxy,feed'], { ...env, TICKFAN_FEEDS_STATUS_REPEAT_MS: '200' });
  t.teardown(() => {
    tickfan.kill();
    cleanup();
  });
  const { code, stdout } = await runTickfan(['tail', 'status.', '--json', '--count', '6'], env);
  t.is(code, 0);
  const states = new Map(stdout.split('\n').map((line) => JSON.parse(line) as Line).map((l) => [l.topic, l.record]));
  t.deepEqual(states.get('status.SIM'), { venue: 'SIM', state: 'up', reason: 'ticking' });
  t.deepEqual(states.get('status.SIMEQ'), { venue: 'SIMEQ', state: 'up', reason: 'ticking' });
});

test('tickfan with the Coinbase adapter on a mock exchange publishes its tickers as ticks', async (t) => {
  const { env, cleanup } = fabric();
  const exchange = new MockCoinbase(['BTC-USD']);
  await exchange.listening;
  const processes: TickfanProcess[] = [];
  t.teardown(async () => {
    processes.forEach((p) => p.kill());
    await exchange.close();
    cleanup();
  });
  processes.push(await started(['start', '--roles', 'proxy'], env));
  const tail = await started(['tail', 'tick.CB.', '--json', '--count', '1'], env, 'tailing');
  processes.push(tail);
  processes.push(await started(['start', '--roles', 'feed'], {
    ...env, TICKFAN_FEEDS_SIMULATED_ENABLED: 'false',
    TICKFAN_FEEDS_COINBASE_ENABLED: 'true', TICKFAN_FEEDS_COINBASE_URL: exchange.url, TICKFAN_FEEDS_COINBASE_VENUE: 'CB', TICKFAN_FEEDS_COINBASE_PRODUCT_IDS: 'BTC-USD',
  }));
  await exchange.subscribed();
  exchange.ticker('BTC-USD', { price: '64000.3', best_bid: '64000.1', best_ask: '64000.4' });
  await tail.waitForStdoutLines(1);
  const line = JSON.parse(tail.stdoutLines[0]!) as Line;
  t.is(line.topic, 'tick.CB.BTC-USD');
  t.is(line.seq, 1);
  t.like(line.record, { venue: 'CB', symbol: 'BTC-USD', bid: 64000.1, ask: 64000.4, last: 64000.3 });
});
