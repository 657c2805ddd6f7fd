/**
 * One run at N connections: connect them all (idle, subscribed to TOPIC), measure the
 * gateway's memory per connection and its idle CPU, broadcast one tick to all of them, then
 * kill the gateway, start it again and time the reconnect storm until every client resumed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { nowMicros } from '../../src/wire/index.js';
import { mergeHistograms, percentiles } from '../common/latency.js';
import { processCpuMs, processRssBytes } from '../common/proc.js';
import { Child } from '../common/spawn.js';
import type { ConnectionsOptions } from './args.js';
import { Gateway, openFileLimit, RAISED_FILE_LIMIT, TOPIC, type Fabric } from './fabric.js';
import type { HolderMethods, Tally } from './holder.js';
import type { RunResult } from './report.js';
import { shares, sourceAddress } from './shares.js';

const STOP_MS = 5_000;
/** Files a gateway has open besides its clients' sockets: listeners, ZeroMQ, metrics, logs. */
const FILES_BESIDE_CLIENTS = 100;
/** Connecting, delivering and resuming are given this long per 10,000 clients (bounded, generous on a shared 2-core machine). */
const MS_PER_10K = 60_000;
/** After connecting, before memory is read: the last welcomes and snapshots flushed, their garbage collectable. */
const SETTLE_MS = 2_000;
/** Heap readings a memory figure takes the least of, SAMPLE_GAP_MS apart: the least is nearest to the live heap. */
const HEAP_SAMPLES = 3;
const SAMPLE_GAP_MS = 500;

interface Memory {
  readonly rss: number;
  readonly heap: number;
}

async function memoryOf(gateway: Gateway): Promise<Memory> {
  let heap = Infinity;
  for (let i = 0; i < HEAP_SAMPLES; i++) {
    if (i > 0) await sleep(SAMPLE_GAP_MS);
    heap = Math.min(heap, await gateway.heapUsed());
  }
  return { rss: processRssBytes(gateway.pid), heap };
}

/** The gateway's settings for the run: admission limits raised for N clients from a few addresses (the defaults suit users). */
function gatewayEnv(fabric: Fabric, connections: number, perProcess: number, port: number): Record<string, string> {
  return {
    ...fabric.env,
    TICKFAN_GATEWAY_PORT: String(port),
    TICKFAN_GATEWAY_MAX_CONNECTIONS: String(connections + FILES_BESIDE_CLIENTS),
    TICKFAN_GATEWAY_MAX_CONNECTIONS_PER_ADDRESS: String(perProcess),
    TICKFAN_GATEWAY_UPGRADES_PER_SECOND_PER_ADDRESS: String(perProcess),
  };
}

/** Adds up the load processes' tallies; throws with the first problem when `what` did not reach every client. */
function sumUp(tallies: readonly Tally[], what: string, failures: string[]): { done: number; lastAt: number } {
  const done = tallies.reduce((sum, t) => sum + t.done, 0);
  const failed = tallies.reduce((sum, t) => sum + t.failed, 0);
  const problem = tallies.find((t) => t.problem !== undefined)?.problem;
  if (failed > 0) failures.push(`${what}: ${failed} clients did not${problem === undefined ? '' : ` (first problem: ${problem})`}`);
  return { done, lastAt: Math.max(...tallies.map((t) => t.lastAt)) };
}

export async function runConnections(fabric: Fabric, connections: number, options: ConnectionsOptions): Promise<RunResult> {
  const timeoutMs = Math.ceil(connections / 10_000) * MS_PER_10K;
  const failures: string[] = [];
  let gateway = await Gateway.start(gatewayEnv(fabric, connections, options.perProcess, 0));
  const port = gateway.port;
  const fileLimit = openFileLimit(gateway.pid);
  if (connections + FILES_BESIDE_CLIENTS > fileLimit) {
    await gateway.stop();
    throw new Error(`the gateway may open ${fileLimit} files (the hard limit here: raising it needs CAP_SYS_RESOURCE), too few for ${connections} connections`);
  }
  const holders = shares(connections, options.perProcess).map((count, i) => ({
    count, address: sourceAddress(i),
    child: new Child<HolderMethods>(new URL('./holder.ts', import.meta.url), `holder ${sourceAddress(i)}`, RAISED_FILE_LIMIT),
  }));
  try {
    await Promise.all(holders.map((h) => h.child.started()));
    const before = await memoryOf(gateway);
    const connectStart = nowMicros();
    const connected = sumUp(await Promise.all(holders.map((h) => h.child.call('connect', {
      url: gateway.url, localAddress: h.address, topic: TOPIC, count: h.count, timeoutMs,
    }, timeoutMs + STOP_MS))), 'connect and subscribe', failures);
    const connectSeconds = (connected.lastAt - connectStart) / 1e6;
    console.error(`  ${connected.done} clients subscribed in ${connectSeconds.toFixed(1)} s`);
    await sleep(SETTLE_MS);
    const after = await memoryOf(gateway);

    const cpuBefore = processCpuMs(gateway.pid);
    const idleStart = performance.now();
    await sleep(options.idleSeconds * 1000);
    const idleCpuPercent = (100 * (processCpuMs(gateway.pid) - cpuBefore)) / (performance.now() - idleStart);
    console.error(`  idle: gateway CPU ${idleCpuPercent.toFixed(1)}% over ${options.idleSeconds} s`);

    const broadcastSeq = fabric.lastSeq + 1;
    await Promise.all(holders.map((h) => h.child.call('arm', { seq: broadcastSeq }, STOP_MS)));
    await fabric.publish();
    const deliveries = await Promise.all(holders.map((h) => h.child.call('delivered', { timeoutMs }, timeoutMs + STOP_MS)));
    const delivered = sumUp(deliveries, `get broadcast tick ${broadcastSeq}`, failures);
    const latency = percentiles(mergeHistograms(deliveries.map((d) => d.latency)));
    console.error(`  broadcast: ${delivered.done} clients got it, p99 ${latency?.p99 ?? '-'} µs, max ${latency?.max ?? '-'} µs`);

    await gateway.kill();
    sumUp(await Promise.all(holders.map((h) => h.child.call('closed', { timeoutMs }, timeoutMs + STOP_MS))), 'see the gateway go', failures);
    // Published while the gateway is down: every client has to get it on resuming.
    const missedSeq = await fabric.publish();
    gateway = await Gateway.start(gatewayEnv(fabric, connections, options.perProcess, port));
    const stormStart = nowMicros();
    const stormPids = [gateway.pid, ...holders.map((h) => h.child.pid!)];
    const stormCpuBefore = stormPids.map(processCpuMs);
    const resumed = sumUp(await Promise.all(holders.map((h) => h.child.call('resume', { url: gateway.url, seq: missedSeq, timeoutMs }, timeoutMs + STOP_MS))), `resume with tick ${missedSeq}`, failures);
    const stormSeconds = (resumed.lastAt - stormStart) / 1e6;
    // % of one core over the storm: whether the gateway or the load side was the limit.
    const [stormGatewayCpu = 0, ...stormLoadCpus] = stormPids.map((pid, i) => (100 * (processCpuMs(pid) - stormCpuBefore[i]!)) / (stormSeconds * 1000));
    const stormLoadCpu = Math.max(...stormLoadCpus);
    console.error(`  storm: ${resumed.done} clients resumed in ${stormSeconds.toFixed(1)} s; gateway CPU ${stormGatewayCpu.toFixed(0)}%, busiest load process ${stormLoadCpu.toFixed(0)}%`);

    return {
      connections, connectSeconds,
      rssPerConnection: (after.rss - before.rss) / connections,
      heapPerConnection: (after.heap - before.heap) / connections,
      rssAfter: after.rss, heapAfter: after.heap,
      idleCpuPercent,
      broadcastP99Micros: latency?.p99, broadcastMaxMicros: latency?.max,
      deliveriesPerSecond: latency === undefined ? undefined : delivered.done / (latency.max / 1e6),
      stormSeconds, stormGatewayCpu, stormLoadCpu, resumed: resumed.done, failures,
    };
  } finally {
    await Promise.all(holders.map((h) => h.child.stop(STOP_MS)));
    await gateway.stop();
  }
}
