import { createServer } from 'node:net';
import test from 'ava';
import { Registry } from 'prom-client';
import { createLogger } from '../../src/log/index.js';
import { BucketHistogram, counterOf, countersBy, createRegistry, gaugeOf, MetricsServer, type ReadinessCheck } from '../../src/metrics/index.js';

const log = createLogger('silent');

async function serve(registry: Registry, checks: ReadinessCheck[] = []): Promise<{ url: string; server: MetricsServer }> {
  const server = new MetricsServer(registry, checks, log);
  const port = await server.listen({ host: '127.0.0.1', port: 0 });
  return { url: `http://127.0.0.1:${port}`, server };
}

test('BucketHistogram: cumulative buckets, +Inf, sum and count; a weight counts as that many observations', async (t) => {
  const registry = new Registry();
  const histogram = new BucketHistogram('x_seconds', 'help', [0.001, 0.01, 0.1]).register(registry);
  histogram.observe(0.0005);
  histogram.observe(0.001);
  histogram.observe(0.05, 3);
  histogram.observe(7);
  const text = await registry.metrics();
  t.regex(text, /# TYPE x_seconds histogram/);
  t.regex(text, /x_seconds_bucket\{le="0\.001"\} 2\n/);
  t.regex(text, /x_seconds_bucket\{le="0\.01"\} 2\n/);
  t.regex(text, /x_seconds_bucket\{le="0\.1"\} 5\n/);
  t.regex(text, /x_seconds_bucket\{le="\+Inf"\} 6\n/);
  t.regex(text, /x_seconds_count 6/);
  t.regex(text, /x_seconds_sum 7\.1515/);
});

test('BucketHistogram with a collect hook: a distribution taken afresh at each scrape', async (t) => {
  const registry = new Registry();
  let values = [1, 2, 300];
  new BucketHistogram('q_bytes', 'help', [10, 100], (h) => {
    h.reset();
    for (const v of values) h.observe(v);
  }).register(registry);
  t.regex(await registry.metrics(), /q_bytes_count 3/);
  values = [5];
  const text = await registry.metrics();
  t.regex(text, /q_bytes_count 1/);
  t.regex(text, /q_bytes_bucket\{le="10"\} 1/);
});

test('views read plain counters at scrape time, with bounded labels', async (t) => {
  const registry = new Registry();
  const state = { sent: 5, depth: 2, reasons: new Map([['json', 3], ['topic', 1]]) };
  counterOf(registry, 'a_sent_total', 'help', () => state.sent);
  gaugeOf(registry, 'a_depth', 'help', () => state.depth);
  countersBy(registry, 'a_rejected_total', 'help', ['reason'], function* () {
    for (const [reason, count] of state.reasons) yield [{ reason }, count];
  });
  state.sent = 9;
  const text = await registry.metrics();
  t.regex(text, /a_sent_total 9/);
  t.regex(text, /a_depth 2/);
  t.regex(text, /a_rejected_total\{reason="json"\} 3/);
  t.regex(text, /a_rejected_total\{reason="topic"\} 1/);
});

test('createRegistry: default process metrics without the nodejs_active_* gauges promtool rejects', async (t) => {
  const text = await createRegistry().metrics();
  for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_gc_duration_seconds']) {
    t.true(text.includes(`# TYPE ${name}`), name);
  }
  t.false(/nodejs_active_\w+_total/.test(text));
});

test('server: /metrics in the Prometheus text format, /healthz, 404 elsewhere, 405 for other methods', async (t) => {
  const registry = new Registry();
  gaugeOf(registry, 'b_gauge', 'help', () => 1);
  const { url, server } = await serve(registry);
  try {
    const metrics = await fetch(`${url}/metrics`);
    t.is(metrics.status, 200);
    t.regex(metrics.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
    t.regex(await metrics.text(), /b_gauge 1/);
    const health = await fetch(`${url}/healthz`);
    t.is(health.status, 200);
    t.is((await fetch(`${url}/nope`)).status, 404);
    t.is((await fetch(`${url}/metrics`, { method: 'POST' })).status, 405);
  } finally {
    await server.close();
  }
});

test('server: /readyz is 200 only when every check passes; the body names those that do not (a throwing one included)', async (t) => {
  let gatewayReady = false;
  const checks: ReadinessCheck[] = [
    { name: 'proxy', check: () => true },
    { name: 'gateway', check: async () => gatewayReady },
    { name: 'snapshot', check: () => Promise.reject(new Error('boom')) },
  ];
  const { url, server } = await serve(new Registry(), checks);
  try {
    let answer = await fetch(`${url}/readyz`);
    t.is(answer.status, 503);
    t.is(await answer.text(), 'not ready: gateway, snapshot\n');
    gatewayReady = true;
    checks.splice(2, 1);
    answer = await fetch(`${url}/readyz`);
    t.is(answer.status, 200);
    t.is(await answer.text(), 'ready\n');
  } finally {
    await server.close();
  }
});

test('server: a port in use is an error naming the port and the setting', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const { port } = blocker.address() as { port: number };
  try {
    const server = new MetricsServer(new Registry(), [], log);
    await t.throwsAsync(() => server.listen({ host: '127.0.0.1', port }), { message: new RegExp(`127\\.0\\.0\\.1:${port} \\(setting metrics\\.port\\).*EADDRINUSE`) });
  } finally {
    blocker.close();
  }
});
