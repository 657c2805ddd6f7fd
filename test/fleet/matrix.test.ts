/**
 * The fault matrix on real network hosts (issue 13): every role of tickfan on its own network
 * namespace (net.ts, fleet.ts), a source that knows what it published (source.ts), clients that
 * check every update they apply (clients.ts), and one serial test per row of rows.ts, each
 * injecting its fault mid-stream. Results go to var/fleet/matrix.json, which
 * `npm run docs:reliability` renders into docs/reliability.md.
 *
 * Recovery time of a row: from the moment the fault took effect (the killed process gone, the
 * signal delivered, the link down, the drop rules in) to the moment the last client applied an
 * update the source published after it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import test from 'ava';
import { Fleet, WS_CLIENTS } from './fleet.js';
import { namespacesUnavailable, sweepLeftovers } from './net.js';
import { lossless, RESULTS_FILE, type RowResult } from './results.js';
import { ROWS, type Row } from './rows.js';

/** Streaming before the fault, so it strikes mid-stream. */
const BEFORE_FAULT_MS = 2_000;
/** Streaming after every client recovered, so live updates are shown to flow again. */
const AFTER_RECOVERY_MS = 1_500;
const RECOVERY_TIMEOUT_MS = 20_000;
const SETTLE_TIMEOUT_MS = 20_000;
const CALL_MS = 30_000;

const unavailable = await namespacesUnavailable();
let fleet: Fleet | undefined;
const results: RowResult[] = [];
let machine = '';

if (unavailable !== undefined) {
  // Not skipped: a machine that cannot build the hosts has not run the matrix, and must say so by failing.
  test('the fault matrix builds its hosts as network namespaces', (t) => t.fail(`cannot: ${unavailable}; run npm test as root`));
} else {
  test.before(async (t) => {
    // Nine hosts' processes start one after the other; a loaded machine takes its time.
    t.timeout(120_000);
    machine = `${cpus().length} cores (load average ${loadavg()[0]!.toFixed(1)} when the suite started)`;
    const swept = await sweepLeftovers();
    if (swept.length > 0) t.log(`removed leftovers of killed runs: ${swept.join(', ')}`);
    fleet = await Fleet.start();
  });

  test.after.always(async () => {
    if (results.length > 0) {
      mkdirSync(dirname(RESULTS_FILE), { recursive: true });
      writeFileSync(RESULTS_FILE, `${JSON.stringify({ when: new Date().toISOString().slice(0, 10), machine, rows: results }, null, 2)}\n`);
    }
    await fleet?.stop();
  });

  for (const row of ROWS) {
    test.serial(row.fault, async (t) => {
      t.timeout(120_000);
      const startedAt = Date.now();
      const result = await runRow(fleet!, row);
      const failures = check(row, result);
      results.push({ ...result, held: failures.length === 0, failures });
      if (failures.length > 0) for (const line of fleet!.warnings(startedAt).slice(-40)) t.log(line);
      t.log(JSON.stringify({ recoveryMs: result.recoveryMs, settleMs: result.settleMs, replays: result.replays, lostAtSource: result.lostAtSource }));
      for (const stats of result.clients) t.log(JSON.stringify(stats));
      // Every failed expectation at once (an ava assertion ends the test at the first).
      t.deepEqual(failures, [], `${row.fault}: ${failures.length} expectations failed`);
    });
  }
}

const METRIC_HOSTS = ['snapshot-a', 'snapshot-b', 'gateway-1', 'gateway-2'] as const;
type MetricHost = (typeof METRIC_HOSTS)[number];
/** Per host, its /metrics samples as `name{labels}` -> value. */
type Readings = Record<MetricHost, Map<string, number>>;

/** Every snapshot service's and gateway's /metrics, read through the client host. */
async function readMetrics(fleet: Fleet): Promise<Readings> {
  const texts = await Promise.all(METRIC_HOSTS.map((host) => fleet.clients.call('scrape', { url: fleet.metricsUrl(host) }, CALL_MS)));
  const parse = (text: string) => new Map([...text.matchAll(/^(\w+(?:\{[^}]*\})?) (\S+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
  return Object.fromEntries(METRIC_HOSTS.map((host, i) => [host, parse(texts[i]!)])) as Readings;
}

/** The sum over `hosts` of metric `name`'s samples whose labels include `labels`. */
function sum(readings: Readings, hosts: readonly MetricHost[], name: string, labels = ''): number {
  let total = 0;
  for (const host of hosts) {
    for (const [key, value] of readings[host]) if ((key === name || key.startsWith(`${name}{`)) && key.includes(labels)) total += value;
  }
  return total;
}

/** How much a counter grew over `hosts` between two readings; a process restarted in between counts from zero again. */
function growth(before: Readings, after: Readings, hosts: readonly MetricHost[], name: string, labels = ''): number {
  return hosts.reduce((total, host) => {
    const [was, is] = [sum(before, [host], name, labels), sum(after, [host], name, labels)];
    return total + (is >= was ? is - was : is);
  }, 0);
}

const SNAPSHOTS = ['snapshot-a', 'snapshot-b'] as const;
const GATEWAYS = ['gateway-1', 'gateway-2'] as const;
/** The gateways' upstream repair events (tickfan_gateway_upstream_repairs_total) a row reports. */
const UPSTREAM_REPAIRS = ['gapsDetected', 'gapsRepaired', 'resnapshots', 'gapsSkipped', 'verifyRepairs'] as const;

type Measured = Omit<RowResult, 'held' | 'failures'>;

async function runRow(fleet: Fleet, row: Row): Promise<Measured> {
  const { clients, source } = fleet;
  await clients.call('beginRow', undefined, CALL_MS);
  const before = await readMetrics(fleet);
  await source.call('stream', { rate: row.rate }, CALL_MS);
  await new Promise((resolve) => setTimeout(resolve, BEFORE_FAULT_MS));
  await row.inject(fleet);
  await clients.call('markFault', { atMs: Date.now() }, CALL_MS);
  await row.undo(fleet);
  await clients.call('recovered', { timeoutMs: RECOVERY_TIMEOUT_MS }, CALL_MS).catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, AFTER_RECOVERY_MS));
  await source.call('stop', undefined, CALL_MS);
  const { state, recordsLost } = await source.call('state', { timeoutMs: 10_000 }, CALL_MS);
  const settle = await clients.call('settle', { truth: state, timeoutMs: SETTLE_TIMEOUT_MS }, CALL_MS + SETTLE_TIMEOUT_MS);
  const stats = await clients.call('stats', undefined, CALL_MS);
  const recovered = stats.map((c) => c.recoveredMs);
  const after = await readMetrics(fleet);
  return {
    fault: row.fault,
    rate: row.rate,
    clients: stats,
    replays: growth(before, after, SNAPSHOTS, 'tickfan_snapshot_requests_total', 'command="REPLAY"'),
    gatewayRepairs: Object.fromEntries(UPSTREAM_REPAIRS.map((event) => [event, growth(before, after, GATEWAYS, 'tickfan_gateway_upstream_repairs_total', `event="${event}"`)])),
    clientsPerGateway: GATEWAYS.map((host) => sum(before, [host], 'tickfan_gateway_connections')),
    lostAtSource: recordsLost,
    recoveryMs: recovered.every((ms) => ms !== undefined) ? Math.max(...(recovered as number[])) : undefined,
    settleMs: settle.ms,
    settled: settle.settled,
    differences: settle.differences,
  };
}

/** Checks what every row must hold; returns what failed, described. */
function check(row: Row, result: Measured): string[] {
  const failures: string[] = [];
  const expect = (ok: boolean, message: string) => {
    if (!ok) failures.push(message);
  };
  expect(result.settled, `every client's final state equals the source's${result.settled ? '' : `: ${JSON.stringify(result.differences)}`}`);
  expect(result.clientsPerGateway.every((n) => n === WS_CLIENTS / 2), `the WebSocket clients were spread evenly over the gateways at the start (${result.clientsPerGateway.join(' and ')})`);
  expect(result.recoveryMs !== undefined, 'every client applied updates published after the fault');
  for (const c of result.clients) {
    expect(c.appliedTwice === 0, `${c.name} applied no update twice (${c.appliedTwice})`);
    if (lossless(c)) expect(c.holes === 0, `${c.name} saw every seq in order (${c.holes} holes, ${c.lostSeqs} seqs missing)`);
    if (c.kind === 'zmq') expect((c.sdk.gapsDetected ?? 0) === 0, `${c.name} on the surviving line saw no gap (${c.sdk.gapsDetected} detected)`);
    if (c.reconnects === 0) expect((c.sdk.duplicates ?? 0) === 0 || c.kind === 'zmq', `${c.name}, never disconnected, got no duplicate (${c.sdk.duplicates})`);
  }
  if (row.noReplay) expect(result.replays === 0, `no REPLAY was issued (${result.replays})`);
  return failures;
}
