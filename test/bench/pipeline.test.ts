import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { curveCosts, cpuPerMessage } from '../../bench/pipeline/analysis.js';
import { parseOptions } from '../../bench/pipeline/args.js';
import { BenchKeys } from '../../bench/pipeline/keys.js';
import { baselineOf, CONFIGS, counterpartOf, routeOf, runPoint, usesCurve, type Config, type PointResult } from '../../bench/pipeline/point.js';
import { curveCostText } from '../../bench/pipeline/report.js';

function options(...argv: string[]) {
  const parsed = parseOptions(argv);
  if (parsed === 'help') throw new Error('unexpected help');
  return parsed;
}

test('the default run has every route in the clear and with CURVE, each pair side by side', (t) => {
  t.deepEqual(options().configs, ['direct', 'direct+curve', 'native', 'native+curve', 'js', 'js+curve']);
});

test('--configs selects CURVE configurations by name, alone or with plain ones', (t) => {
  t.deepEqual(options('--configs', 'native+curve').configs, ['native+curve']);
  t.deepEqual(options('--configs', 'direct, direct+curve,js+curve').configs, ['direct', 'direct+curve', 'js+curve']);
});

test('--configs refuses an unknown configuration, naming it and listing the known ones', (t) => {
  t.throws(() => options('--configs', 'native,native+tls'), { message: '--configs: unknown "native+tls", expected direct, direct+curve, native, native+curve, js, js+curve' });
  t.throws(() => options('--configs', 'curve'), { message: /unknown "curve"/ });
});

test('a configuration names its route and security; its counterpart and baseline keep the one and the other', (t) => {
  const described = CONFIGS.map((c) => [c, routeOf(c), usesCurve(c), counterpartOf(c), baselineOf(c)]);
  t.deepEqual(described, [
    ['direct', 'direct', false, 'direct+curve', 'direct'],
    ['direct+curve', 'direct', true, 'direct', 'direct+curve'],
    ['native', 'native', false, 'native+curve', 'direct'],
    ['native+curve', 'native', true, 'native', 'direct+curve'],
    ['js', 'js', false, 'js+curve', 'direct'],
    ['js+curve', 'js', true, 'js', 'direct+curve'],
  ]);
});

/** A point in which every offered message arrived (sustained), or only half of them (failed). */
function point(config: Config, rate: number, cpu: { pub: number; proxy?: number; sub: number }, sustained = true): PointResult {
  const seconds = 10;
  const offered = rate * seconds;
  return {
    config, rate, seconds, attempt: 1, machineCpuPercent: cpu.pub + (cpu.proxy ?? 0) + cpu.sub,
    publisher: { offered, cpuPercent: cpu.pub },
    ...(cpu.proxy !== undefined && { proxy: { cpuPercent: cpu.proxy } }),
    subscriber: { delivered: sustained ? offered : offered / 2, missing: 0, outOfOrder: 0, invalid: 0, p50Micros: 500, p99Micros: 900, cpuPercent: cpu.sub },
  };
}

test('CPU per message: CPU time over the window divided by the publisher\'s offered and the subscriber\'s delivered messages', (t) => {
  // 20% of a core over 10 s = 2 s of CPU, over 100,000 messages = 20 µs each.
  t.deepEqual(cpuPerMessage(point('native', 10_000, { pub: 20, proxy: 10, sub: 40 })), { publisher: 20, proxy: 10, subscriber: 40 });
  t.deepEqual(cpuPerMessage(point('direct', 10_000, { pub: 20, sub: 40 }, false)), { publisher: 20, subscriber: 80 });
});

test('the cost of CURVE: sustained rate ratio of each pair, CPU per message compared at the highest rung both sustained', (t) => {
  const points = [
    point('native', 10_000, { pub: 10, proxy: 5, sub: 20 }),
    point('native', 20_000, { pub: 20, proxy: 10, sub: 40 }),
    point('native', 40_000, { pub: 40, proxy: 20, sub: 80 }, false),
    point('native+curve', 10_000, { pub: 15, proxy: 10, sub: 30 }),
    point('native+curve', 20_000, { pub: 30, proxy: 20, sub: 50 }, false),
    point('direct', 10_000, { pub: 10, sub: 20 }),
  ];
  const [native, ...others] = curveCosts(points);
  t.deepEqual(others, [], 'direct ran without its curve counterpart: no pair');
  t.is(native!.plain.config, 'native');
  t.is(native!.curve.config, 'native+curve');
  t.is(native!.rateRatio, 0.5);
  t.is(native!.compared?.plain.rate, 10_000);
  t.deepEqual(native!.compared?.cpu, [
    { process: 'publisher', plainMicros: 10, curveMicros: 15 },
    { process: 'proxy', plainMicros: 5, curveMicros: 10 },
    { process: 'subscriber', plainMicros: 20, curveMicros: 30 },
  ]);
  const text = curveCostText(points);
  t.regex(text, /\| native \|\s+20,000\/s \|\s+10,000\/s \|\s+50% \|\s+10,000\/s \|/);
  t.regex(text, /10\.0 -> 15\.0 \(1\.50x\) \|\s+5\.0 -> 10\.0 \(2\.00x\) \|\s+20\.0 -> 30\.0 \(1\.50x\) \|/);
});

test('no CURVE section without a CURVE configuration, and no CPU comparison without a rung both sustained', (t) => {
  t.is(curveCostText([point('direct', 10_000, { pub: 10, sub: 20 })]), '');
  const [direct] = curveCosts([point('direct', 10_000, { pub: 10, sub: 20 }), point('direct+curve', 10_000, { pub: 10, sub: 20 }, false)]);
  t.is(direct!.rateRatio, 0);
  t.is(direct!.compared, undefined);
});

test('the certificates: a server pair, and only the public certificate of each client in its allowed directory', (t) => {
  const keys = BenchKeys.create();
  t.teardown(() => keys.remove());
  const publisher = keys.settings('publisher');
  t.deepEqual(readdirSync(publisher.publishers), ['publisher.key']);
  t.deepEqual(readdirSync(publisher.subscribers), ['subscriber.key']);
  t.is(publisher.certificate, join(keys.dir, 'certificates', 'publisher.key_secret'));
  t.is(keys.settings('subscriber').certificate, join(keys.dir, 'certificates', 'subscriber.key_secret'));
  t.is(keys.settings('proxy').certificate, '', 'the proxy connects nowhere');
  t.true(existsSync(publisher.serverCertificate) && existsSync(publisher.serverKey));
  keys.remove();
  t.false(existsSync(keys.dir));
});

/** A short, low-rate point: every message must arrive even on a busy machine. */
const SHORT = { seconds: 1, warmupSeconds: 0.5, graceMs: 1_000, hwm: 100_000, topics: 5 };

for (const config of ['direct+curve', 'native+curve'] as const) {
  test.serial(`${config}: the processes connect through CURVE and ZAP and deliver every message`, async (t) => {
    const keys = BenchKeys.create();
    t.teardown(() => keys.remove());
    const result = await runPoint(config, 2_000, SHORT, 1, keys);
    t.is(result.error, undefined);
    t.is(result.subscriber?.delivered, result.publisher?.offered);
    t.true((result.publisher?.offered ?? 0) > 0);
    t.is(result.subscriber?.missing, 0);
  });
}

test.serial('direct+curve: a subscriber whose key is not in the subscribers directory gets nothing (ZAP refuses it)', async (t) => {
  const keys = BenchKeys.create();
  t.teardown(() => keys.remove());
  rmSync(join(keys.settings('subscriber').subscribers, 'subscriber.key'));
  const result = await runPoint('direct+curve', 2_000, SHORT, 1, keys);
  t.regex(result.error ?? '', /^publisher\.subscribed took longer than/, 'no subscription ever reached the publisher');
  t.is(result.subscriber, undefined);
});

test('a CURVE configuration without the certificates fails its point, saying so', async (t) => {
  const result = await runPoint('direct+curve', 2_000, SHORT, 1);
  t.is(result.error, "direct+curve needs the benchmark's certificates");
});
