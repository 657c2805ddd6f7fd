/**
 * The shipped dashboard and alert rules against what the code really exports on the default
 * configuration (what `npm start` runs; only endpoints and ports are private): tickfan (proxy,
 * snapshot service and gateway in one process, the simulated feed in another) with two
 * WebSocket clients, scraped every second by a real Prometheus loaded with a copy of
 * dashboards/alerts.yml whose `for:` and staleness threshold are shortened.
 */
import { readFileSync } from 'node:fs';
import anyTest, { type TestFn } from 'ava';
import WebSocket from 'ws';
import { loadConfig } from '../../src/cli/config.js';
import { ipcDir, privateFabricEnv, TickfanProcess, withTimeout } from '../helpers/tickfan-process.js';
import { pollUntil } from '../helpers/poll.js';
import { promtool, Prometheus } from './_prometheus.js';

const test = anyTest as TestFn;

const DASHBOARD = JSON.parse(readFileSync(new URL('../../dashboards/tickfan.json', import.meta.url), 'utf8')) as Dashboard;
const ALERTS = readFileSync(new URL('../../dashboards/alerts.yml', import.meta.url), 'utf8');
/** Seconds without a tick after which the test copy of the rules calls a venue stale. */
const STALE_AFTER_S = 3;
const FEED_RATE = 500;

interface Dashboard {
  panels: { type: string; title: string; targets?: { expr: string }[] }[];
  templating: { list: { name: string; definition: string }[] };
}

const dir = ipcDir();
let core: TickfanProcess;
let feed: TickfanProcess;
let prometheus: Prometheus;
const metricsPorts: number[] = [];
const clients: WebSocket[] = [];
/** End-to-end latencies (s) the WebSocket clients measured, header ts to receipt. */
const clientLatencies: number[] = [];

async function metricsPort(proc: TickfanProcess): Promise<number> {
  return (await proc.waitForLog('metrics listening')).port as number;
}

function subscribe(port: number, topics: string[]): Promise<void> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`);
  clients.push(ws);
  ws.on('message', (data) => {
    const now = (performance.timeOrigin + performance.now()) * 1000;
    for (const event of JSON.parse(data.toString()) as { type: string; ts?: number }[]) {
      if (event.type === 'tick' && clientLatencies.length < 100_000) clientLatencies.push((now - event.ts!) / 1e6);
    }
  });
  return withTimeout(new Promise<void>((resolve, reject) => {
    ws.once('open', () => {
      ws.send(JSON.stringify({ op: 'subscribe', id: 1, topics }));
      resolve();
    });
    ws.once('error', reject);
  }), 5000, 'a WebSocket client to connect');
}

/** The test copy of the rules: alerts fire after 1 s, a venue is stale after STALE_AFTER_S. */
function testRules(): string {
  const rules = ALERTS.replace(/for: \d+m/g, 'for: 1s').replace('tickfan_snapshot_venue_last_tick_age_seconds) > 30', `tickfan_snapshot_venue_last_tick_age_seconds) > ${STALE_AFTER_S}`);
  if (!rules.includes(`> ${STALE_AFTER_S}`)) throw new Error('the feed-stale rule changed: update testRules()');
  return rules;
}

/** A dashboard query as Grafana would send it with every variable at "All". */
function substituted(expr: string): string {
  return expr.replaceAll('$__rate_interval', '5s').replaceAll('$job', 'tickfan').replaceAll('$instance', '.*').replaceAll('$venue', '.*');
}

test.before(async () => {
  const env = { ...privateFabricEnv(dir), TICKFAN_LOG_LEVEL: 'info' };
  core = new TickfanProcess(['start', '--roles', 'proxy,snapshot,gateway'], env);
  const gatewayPort = (await core.waitForLog('gateway listening')).port as number;
  metricsPorts.push(await metricsPort(core));
  feed = new TickfanProcess(['start', '--roles', 'feed'], { ...env, TICKFAN_FEEDS_SIMULATED_RATE: String(FEED_RATE), TICKFAN_FEEDS_SIMULATED_SEED: '3' });
  metricsPorts.push(await metricsPort(feed));
  await subscribe(gatewayPort, ['*']);
  await subscribe(gatewayPort, ['tick.SIM.*']);
  prometheus = await Prometheus.start([
    'global: { scrape_interval: 1s, evaluation_interval: 1s }',
    'rule_files: [alerts.yml]',
    'scrape_configs:',
    '  - job_name: tickfan',
    `    static_configs: [{ targets: [${metricsPorts.map((p) => `'127.0.0.1:${p}'`).join(', ')}] }]`,
  ].join('\n'), { 'alerts.yml': testRules() });
  // Enough scrapes of both targets for every rate() over 5 s to have points.
  await pollUntil(async () => (await prometheus.query('min(count_over_time(up{job="tickfan"}[10s])) >= 6 and min(up{job="tickfan"}) == 1')).length === 1, 'six scrapes of both targets', 30_000);
});

test.after.always(async () => {
  for (const ws of clients) ws.terminate();
  await prometheus?.stop();
  await Promise.all([core, feed].filter(Boolean).map((proc) => proc.stop().catch(() => proc.kill())));
  dir.cleanup();
});

test.serial('tickfan runs the default proxy mode (auto: js beside the snapshot service and gateway), so the queries below are checked on it', async (t) => {
  t.is(loadConfig({ env: {} }).proxy.mode, 'auto');
  t.is((await core.waitForLog('proxy listening')).mode, 'js');
});

test.serial('every panel query of dashboards/tickfan.json returns at least one series', async (t) => {
  const queries = DASHBOARD.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: substituted(target.expr) })));
  t.true(queries.length >= 20, `${queries.length} queries`);
  const empty: string[] = [];
  for (const { panel, expr } of queries) {
    if ((await prometheus.query(expr)).length === 0) empty.push(`${panel}: ${expr}`);
  }
  t.deepEqual(empty, []);
});

test.serial('every template variable has values', async (t) => {
  for (const variable of DASHBOARD.templating.list) {
    const [, match, label] = /^label_values\((.*), (\w+)\)$/.exec(variable.definition)!;
    const values = await prometheus.labelValues(label!, substituted(match!));
    t.true(values.length > 0, `${variable.name}: ${variable.definition}`);
  }
});

test.serial('promtool: the rules check, and each process\'s /metrics passes `promtool check metrics`', async (t) => {
  const rules = await promtool(['check', 'rules', 'dashboards/alerts.yml']);
  t.is(rules.code, 0, rules.output);
  t.regex(rules.output, /SUCCESS: 10 rules found/);
  for (const port of metricsPorts) {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const check = await promtool(['check', 'metrics'], text);
    t.is(check.code, 0, `port ${port}: ${check.output}`);
    t.is(check.output.trim(), '', `port ${port}: no problem reported`);
  }
});

test.serial('the latency p50 Prometheus computes lies within what the clients measured', async (t) => {
  const [sample] = await prometheus.query('histogram_quantile(0.5, sum by (le) (rate(tickfan_gateway_tick_latency_seconds_bucket[10s])))');
  const p50 = Number(sample!.value[1]);
  const sorted = [...clientLatencies].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.floor(q * (sorted.length - 1))]!;
  t.true(sorted.length > 1000, `${sorted.length} client samples`);
  // Hand-off to the socket comes just before receipt, and a histogram is exact only to its
  // bucket (bounds step by 2-2.5x): within the clients' p1..p99, widened by one bucket.
  t.true(p50 >= at(0.01) / 2.5 && p50 <= at(0.99) * 2.5, `Prometheus p50 ${p50}s, clients p1 ${at(0.01)}s p50 ${at(0.5)}s p99 ${at(0.99)}s`);
});

test.serial('stopping the feed makes TickfanFeedStale fire in Prometheus', async (t) => {
  t.deepEqual((await prometheus.alerts()).filter((a) => a.labels.alertname === 'TickfanFeedStale'), [], 'not before');
  await feed.stop();
  await pollUntil(async () => (await prometheus.alerts()).some((a) => a.labels.alertname === 'TickfanFeedStale' && a.state === 'firing'), 'TickfanFeedStale to fire', 30_000);
  const firing = (await prometheus.alerts()).filter((a) => a.labels.alertname === 'TickfanFeedStale' && a.state === 'firing');
  t.deepEqual(firing.map((a) => a.labels.venue).sort(), ['SIM', 'SIMEQ']);
});
