/**
 * Snapshot benchmark: SNAPSHOT, REPLAY and PING latency of the snapshot service for 1,000 and
 * 10,000 topics, idle and while ticks flow, and the ingest rate the snapshot role sustains with
 * and without SNAPSHOT load. Every part is its own OS process on loopback: the proxy (native),
 * the snapshot role (loadConfig + startRoles, as `tickfan start --roles snapshot` runs it), a
 * publisher of N topics, and two snapshot clients (one sends the series, the other PINGs).
 * See docs/performance.md for how to read the output.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseOptions, USAGE, type SnapshotBenchOptions } from './snapshot/args.js';
import type { ClientMethods, Series } from './snapshot/client.js';
import type { PublisherMethods } from './snapshot/publisher.js';
import {
  CATCH_UP_LIMIT_MS, CATCH_UP_WAIT_MS, ingestTable, mergeSeries, ms, requestTable, stats, sustainedRate, verdict,
  type IngestCheck, type RequestRow,
} from './snapshot/report.js';
import type { ServiceMethods } from './snapshot/service.js';
import { Child, childDied } from './common/spawn.js';
import { topicName } from './snapshot/ticks.js';
import { awaitQuietOthers, BUSY_OTHER_PERCENT, mergeSegments, otherPercent, UsageMeter, type Segment } from './snapshot/usage.js';
import { optionsOrUsage } from './common/cli.js';
import { count } from './common/format.js';
import { announceMachine } from './common/machine.js';
import type { ProxyMethods } from './common/proxy.js';

/** The shipped defaults of proxy.*Hwm and feeds.sendHwm (config/default.json). */
const HWM = 200_000;
const CALL_MS = 15_000;
/** Beyond a series' own bound, how long the parent waits for its report. */
const SLACK_MS = 15_000;
const CLIENT_TIMEOUT_MS = 10_000;
/** PINGs in flight at most: at one every 2 ms, a stall of up to 128 ms is sampled open-loop. */
const PING_CLIENTS = 64;
/** The fill (one tick per topic) is paced so that it never overflows anything itself. */
const FILL_RATE = 50_000;
const FILL_ROUNDS = 20;
const HOT_TOPIC = topicName(0);
const STOP_MS = 5_000;
/** A load's higher rungs are skipped after this many failed rungs in a row. */
const STOP_AFTER_FAILURES = 2;
/** Machine CPU (% of one core) of other programs below which the run starts, and how long it waits for that. */
const QUIET_BELOW = 25;
const QUIET_WAIT_MS = 15_000;
/** ...and before each measurement, for at most this long. */
function quietWaitEachMs(o: SnapshotBenchOptions): number {
  return o.quick ? 0 : 1_500;
}

/** Ladder rungs run again because other programs were busy, at most (bounds the run time). */
function maxRetries(o: SnapshotBenchOptions): number {
  return o.quick ? 0 : 3;
}

function program(name: string): URL {
  return new URL(`./snapshot/${name}.ts`, import.meta.url);
}

interface Processes {
  readonly proxy: Child<ProxyMethods>;
  /**
   * A new process for every fresh store: freeing a large store leaves work (finalizing millions
   * of received frames) and memory behind that would land in the next measurement.
   */
  service: Child<ServiceMethods>;
  readonly publisher: Child<PublisherMethods>;
  /** Sends the SNAPSHOT and REPLAY series. */
  readonly client: Child<ClientMethods>;
  /** PINGs alongside, as "another client". */
  readonly pinger: Child<ClientMethods>;
}

interface Run {
  readonly options: SnapshotBenchOptions;
  readonly procs: Processes;
  readonly backend: string;
  historyPerTopic: number;
  /** Whether the current service process has run a store already. */
  serviceUsed: boolean;
  /** Time spent waiting for other programs to calm down, and how often they did not. */
  quietWaitedMs: number;
  busyStarts: number;
}

async function main(): Promise<void> {
  const options = optionsOrUsage(parseOptions, USAGE);
  if (options === undefined) return;
  const started = performance.now();
  await announceMachine(QUIET_BELOW, options.quick ? 3_000 : QUIET_WAIT_MS);
  console.log(settingsLine(options));

  const procs: Processes = {
    proxy: new Child<ProxyMethods>(new URL('./common/proxy.ts', import.meta.url), 'proxy'),
    service: new Child<ServiceMethods>(program('service'), 'service'),
    publisher: new Child<PublisherMethods>(program('publisher'), 'publisher'),
    client: new Child<ClientMethods>(program('client'), 'client'),
    pinger: new Child<ClientMethods>(program('client'), 'pinger'),
  };
  try {
    await Promise.race([measureAll(options, procs, started), childDied]);
  } finally {
    await Promise.all(Object.values(procs).map((child: Child<never>) => child.stop(STOP_MS)));
  }
}

async function measureAll(options: SnapshotBenchOptions, procs: Processes, started: number): Promise<void> {
  await Promise.all(Object.values(procs).map((child: Child<never>) => child.started()));
  const { frontend, backend } = await procs.proxy.call('start', { mode: 'native', hwm: HWM }, CALL_MS);
  // The fill below retries until the store holds every topic, so no subscription has to be awaited here.
  await procs.publisher.call('start', { frontend, sendHwm: HWM, waitMs: 0 }, CALL_MS);
  const run: Run = { options, procs, backend, historyPerTopic: 0, serviceUsed: false, quietWaitedMs: 0, busyStarts: 0 };

  const rows: RequestRow[] = [];
  const phaseChecks: IngestCheck[] = [];
  for (const topics of options.topics) {
    const phase = await requestPhase(run, topics);
    rows.push(...phase.rows);
    phaseChecks.push(phase.ingest);
  }
  const ladder: IngestCheck[] = [];
  const failuresInRow = new Map<boolean, number>();
  let retries = 0;
  // Rate-major, so slow drift in the machine's load hits both loads alike.
  for (const rate of options.rates) {
    for (const load of [false, true]) {
      // Past its limit a load only fails again, slowly: its last failures already show where the limit is.
      const failures = failuresInRow.get(load) ?? 0;
      if (failures >= STOP_AFTER_FAILURES) continue;
      let check = await ingestRung(run, rate, load);
      // A failure while other programs were busy may be theirs: one more try, and that one counts.
      if (verdict(check).outcome !== 'ok' && (otherPercent(check.segment!.usage) ?? 0) >= BUSY_OTHER_PERCENT && retries < maxRetries(options)) {
        retries++;
        progress(`  ${verdict(check).problem}, while other programs were busy: once more`);
        check = { ...(await ingestRung(run, rate, load)), attempt: 2 };
      }
      const { outcome, problem } = verdict(check);
      progress(`  ${outcome === 'ok' ? 'ok' : problem}`);
      ladder.push(check);
      if (outcome !== 'inconclusive') failuresInRow.set(load, outcome === 'ok' ? 0 : failures + 1);
    }
  }

  console.log('\nRequests\n');
  console.log(requestTable(rows));
  console.log('\nIngest of the snapshot role (each row a fresh store; gaps/stale checked against what the publisher sent)\n');
  console.log(ingestTable([...phaseChecks, ...ladder]));
  console.log(`\n${legend()}`);
  console.log(`\n${summary(rows, phaseChecks, ladder, options)}`);
  const waited = options.quick
    ? 'no waiting for other programs in --quick'
    : `of which ${(run.quietWaitedMs / 1000).toFixed(0)} s waiting for other programs to use < ${BUSY_OTHER_PERCENT}% of a core before a measurement ` +
      `(${run.busyStarts} measurements started anyway after ${quietWaitEachMs(options) / 1000} s)`;
  console.log(`\nTotal run time ${((performance.now() - started) / 1000).toFixed(0)} s, ${waited}.`);
}

/**
 * SNAPSHOT of all N topics, REPLAY of topic 0 and PING from the second client: first with no
 * ticks flowing, then while they flow at the flow rate. Ends with the ingest check of the flow.
 */
async function requestPhase(run: Run, topics: number): Promise<{ rows: RequestRow[]; ingest: IngestCheck }> {
  const { options, procs } = run;
  const { flowRate } = options;
  progress(`${count(topics)} topics: filling a fresh store`);
  await freshStore(run, topics);
  // Topic 0 gets a full history for REPLAY, and then stays out of the flow so that history stands still.
  const { seq: hotSeq } = await procs.publisher.call('hot', { count: run.historyPerTopic, rate: flowRate }, CALL_MS);
  if ((await procs.client.call('waitSeq', { topic: HOT_TOPIC, seq: hotSeq, maxMs: 5_000, pollMs: 5 }, CALL_MS)) === null) {
    throw new Error(`the store did not reach seq ${hotSeq} of ${HOT_TOPIC}`);
  }
  const rows: RequestRow[] = [];
  const snapshotName = 'SNAPSHOT "" (all)';
  const { blocks } = options;
  for (const flowing of [false, true]) {
    const rate = flowing ? flowRate : 0;
    if (flowing) {
      // Bounded: the flow ends by itself long after this phase should be over.
      await procs.publisher.call('flowStart', { rate, durationMs: 10 * 60_000 }, CALL_MS);
      await sleep(500);
    }
    const label = flowing ? `${count(topics)} topics, ${count(rate)} ticks/s` : `${count(topics)} topics, idle`;
    // Unmeasured: the first large replies of a process run through cold code.
    await snapshotSeries(run, topics, 3, 5_000);

    progress(`${label}: PING alone / SNAPSHOT series with PINGs alongside, ${blocks} blocks each, alternated`);
    const alone: Measured<void>[] = [];
    const during: Measured<Series>[] = [];
    for (let block = 0; block < blocks; block++) {
      await settle(run);
      alone.push(await measured(run, () => sleep((options.baselineSeconds * 1000) / blocks), true));
      during.push(await measured(run, () => snapshotSeries(run, topics, Math.ceil(options.snapshots / blocks), (options.seriesMaxSeconds * 1000) / blocks), true));
    }
    const pingAlone = mergeSeries(alone.map((m) => m.pings!));
    const duringSegment = mergeSegments(during.map((m) => m.segment));
    const idleSnapshot = rows.find((r) => r.request === snapshotName && r.topics === topics && r.flowRate === 0);
    rows.push(
      { request: 'PING (2nd client)', topics, flowRate: rate, alongside: 'alone (baseline)', series: pingAlone, ...segmentOf(mergeSegments(alone.map((m) => m.segment))) },
      {
        request: snapshotName, topics, flowRate: rate, alongside: 'PINGs', series: mergeSeries(during.map((m) => m.result)),
        ...(idleSnapshot && { baseline: idleSnapshot.series }), ...segmentOf(duringSegment),
      },
      {
        request: 'PING (2nd client)', topics, flowRate: rate, alongside: 'back-to-back SNAPSHOTs', series: mergeSeries(during.map((m) => m.pings!)),
        baseline: pingAlone, ...segmentOf(duringSegment),
      },
    );

    progress(`${label}: REPLAY series`);
    await settle(run);
    const latest = await procs.client.call('latest', { topic: HOT_TOPIC }, CALL_MS);
    if (latest === null || latest.seq !== hotSeq) throw new Error(`${HOT_TOPIC} is at ${JSON.stringify(latest)}, expected seq ${hotSeq}`);
    for (const last of [100, run.historyPerTopic]) {
      const replay = await measured(run, () => procs.client.call(
        'replays',
        { topic: HOT_TOPIC, epoch: latest.epoch, fromSeq: latest.seq - last + 1, expect: last, count: options.replays, maxMs: options.seriesMaxSeconds * 1000 },
        options.seriesMaxSeconds * 1000 + SLACK_MS,
      ), false);
      const name = `REPLAY last ${count(last)}`;
      const idleReplay = rows.find((r) => r.request === name && r.topics === topics && r.flowRate === 0);
      rows.push({ request: name, topics, flowRate: rate, alongside: '-', series: replay.result, ...(idleReplay && { baseline: idleReplay.series }), segment: replay.segment });
    }
  }
  progress(`${count(topics)} topics: ingest check of the ${count(flowRate)} ticks/s flow`);
  const flow = await procs.publisher.call('flowStop', { wait: false }, CALL_MS);
  const ingest = await ingestCheck(run, topics, flowRate, 'all of the above', flow);
  return { rows, ingest };
}

/** One rung of the ingest ladder: a fresh store, a flow of windowSeconds, with or without back-to-back SNAPSHOTs. */
async function ingestRung(run: Run, rate: number, load: boolean): Promise<IngestCheck> {
  const { options, procs } = run;
  const topics = options.ladderTopics;
  const windowMs = options.windowSeconds * 1000;
  progress(`ingest ladder: ${count(topics)} topics at ${count(rate)} ticks/s, ${load ? 'with' : 'without'} SNAPSHOT load`);
  await freshStore(run, topics);
  await settle(run);
  const measurement = await measured(run, async () => {
    await procs.publisher.call('flowStart', { rate, durationMs: windowMs }, CALL_MS);
    const snapshots = load
      ? snapshotSeries(run, topics, 1_000_000, windowMs)
      : undefined;
    const flow = await procs.publisher.call('flowStop', { wait: true }, windowMs + SLACK_MS);
    return { flow, snapshots: await snapshots };
  }, false);
  const { flow, snapshots } = measurement.result;
  return ingestCheck(run, topics, rate, load ? 'back-to-back' : 'none', flow, measurement.segment, snapshots);
}

/**
 * After a flow: a marker on topic 0 shows when the store has ingested everything sent before
 * it; then every topic's held seq is compared with what the publisher sent, and the role is
 * stopped for its counts.
 */
async function ingestCheck(
  run: Run, topics: number, askedRate: number, load: string, flow: IngestCheck['flow'],
  segment?: Segment, snapshots?: Series,
): Promise<IngestCheck> {
  const { procs } = run;
  const { seq: markerSeq } = await procs.publisher.call('marker', undefined, CALL_MS);
  // Long enough to tell "behind" from "lost", short enough that a store far behind does not stall the run.
  const catchUpMs = await procs.client.call('waitSeq', { topic: HOT_TOPIC, seq: markerSeq, maxMs: CATCH_UP_WAIT_MS, pollMs: 5 }, CATCH_UP_WAIT_MS + SLACK_MS);
  // Compared only once everything sent has arrived: before that, every topic still in flight would count as stale.
  let stale: number | null = null;
  if (catchUpMs !== null) {
    const sent = await procs.publisher.call('seqs', undefined, CALL_MS);
    const held = await procs.client.call('state', { prefix: '' }, CALL_MS);
    const heldSeq = new Map(held.topics.map((topic, i) => [topic, { seq: held.seqs[i], epoch: held.epochs[i] }]));
    stale = sent.seqs.filter((seq, i) => {
      const entry = heldSeq.get(topicName(i));
      return entry === undefined || entry.seq !== seq || entry.epoch !== sent.epoch;
    }).length;
  }
  const stopped = await procs.service.call('stop', undefined, CALL_MS);
  await procs.service.stop(STOP_MS);
  return { topics, askedRate, load, flow, stale, catchUpMs, stopped, ...segmentOf(segment), ...(snapshots && { snapshots }) };
}

/** A fresh snapshot role (empty store) holding every one of `topics` topics, both clients connected to it. */
async function freshStore(run: Run, topics: number): Promise<void> {
  const { procs } = run;
  if (run.serviceUsed) {
    await procs.service.stop(STOP_MS);
    procs.service = new Child<ServiceMethods>(program('service'), 'service');
    await procs.service.started();
  }
  run.serviceUsed = true;
  const started = await procs.service.call('start', { backend: run.backend }, CALL_MS);
  run.historyPerTopic = started.historyPerTopic;
  await procs.client.call('connect', { endpoint: started.endpoint, timeoutMs: CLIENT_TIMEOUT_MS, clients: 1 }, CALL_MS);
  await procs.pinger.call('connect', { endpoint: started.endpoint, timeoutMs: CLIENT_TIMEOUT_MS, clients: PING_CLIENTS }, CALL_MS);
  await procs.publisher.call('topics', { count: topics }, CALL_MS);
  // The new subscription takes a moment to reach the publisher through the proxy; until then its ticks go nowhere.
  for (let round = 1; round <= FILL_ROUNDS; round++) {
    await procs.publisher.call('fill', { rate: FILL_RATE }, CALL_MS);
    for (let poll = 0; poll < 10; poll++) {
      if ((await procs.client.call('count', { prefix: '' }, CALL_MS)) === topics) return;
      await sleep(50);
    }
  }
  throw new Error(`the store did not hold all ${topics} topics after ${FILL_ROUNDS} fill rounds`);
}

/** Back-to-back SNAPSHOTs of all topics from the first client, until count or maxMs. */
function snapshotSeries(run: Run, topics: number, countLimit: number, maxMs: number): Promise<Series> {
  return run.procs.client.call('snapshots', { prefix: '', expect: topics, count: countLimit, maxMs }, maxMs + SLACK_MS);
}

interface Measured<T> {
  readonly result: T;
  readonly pings?: Series;
  readonly segment: Segment;
}

/** Runs `work` with the snapshot process and the machine metered, and optionally PINGs from the second client alongside. */
async function measured<T>(run: Run, work: () => Promise<T>, withPings: boolean): Promise<Measured<T>> {
  const { procs, options } = run;
  await procs.service.call('meterStart', undefined, CALL_MS);
  const usage = new UsageMeter(() => pidsOf(procs));
  if (withPings) {
    await procs.pinger.call('pingStart', { intervalMs: options.pingIntervalMs, maxMs: options.seriesMaxSeconds * 1000 + SLACK_MS }, CALL_MS);
  }
  let result: T;
  let pings: Series | undefined;
  try {
    result = await work();
  } finally {
    if (withPings) pings = await procs.pinger.call('pingStop', undefined, CALL_MS);
  }
  const meter = await procs.service.call('meterStop', undefined, CALL_MS);
  return { result, segment: { meter, usage: usage.stop() }, ...(pings && { pings }) };
}

/** Before a measurement: give other programs' bursts a moment to pass (bounded; not in --quick). */
async function settle(run: Run): Promise<void> {
  if (run.options.quick) return;
  const { percent, waitedMs } = await awaitQuietOthers(() => pidsOf(run.procs), quietWaitEachMs(run.options));
  run.quietWaitedMs += waitedMs;
  if (percent !== undefined && percent >= BUSY_OTHER_PERCENT) run.busyStarts++;
}

function pidsOf(procs: Processes): (number | undefined)[] {
  return Object.values(procs).map((child: Child<never>) => child.pid);
}

function segmentOf(segment: Segment | undefined): { segment?: Segment } {
  return segment === undefined ? {} : { segment };
}

function settingsLine(o: SnapshotBenchOptions): string {
  return `Topics ${o.topics.map(count).join(' and ')}; ticks flowing at ${count(o.flowRate)}/s for the "under flow" rows; ` +
    `${o.snapshots} SNAPSHOTs and ${o.replays} REPLAYs per series (at most ${o.seriesMaxSeconds} s each); PING every ${o.pingIntervalMs} ms, ` +
    `${o.baselineSeconds} s alone, alternated with the SNAPSHOT series in ${o.blocks} blocks; ` +
    `ingest ladder ${o.rates.map(count).join(', ')} ticks/s over ${count(o.ladderTopics)} topics, ${o.windowSeconds} s per rung; ` +
    'snapshot role with the shipped defaults (config/default.json) except ephemeral loopback ports and persistFile "".';
}

function legend(): string {
  return [
    'Latency = request sent -> whole reply received by the client process (reply frames counted, not decoded).',
    `PING comes from a second client process on a fixed schedule, each from whichever of its ${PING_CLIENTS} connections has none in flight,`,
    'so PINGs keep arriving while the service stalls and a stall is sampled for as long as it lasts (open loop).',
    'vs baseline = p50 / p99 over the baseline\'s: PING alone at the same ticks/s (in blocks alternating with the SNAPSHOT',
    'blocks) for the PING rows, the idle row for SNAPSHOT and REPLAY. (busy) = other programs used >= 25% of a core meanwhile.',
    'svc = the snapshot process, a fresh one per store: CPU (JS thread + libzmq I/O thread, % of one core); loop delay max = the',
    'longest its event loop was held up (building and handing a large reply to libzmq is synchronous; so are GC pauses, and on',
    'a full machine waiting for a core); GC = its longest pause / GC time as % of the interval; RSS at the end of the interval.',
    'machine CPU = all of the machine; other CPU = programs outside the benchmark (% of one core).',
    'Ingest: gaps = the store\'s own gap count (a seq skipped within a topic); stale = topics whose final seq differs from the',
    `publisher's; catch-up = end of the flow -> a marker sent after it is in the store (ok <= ${ms(CATCH_UP_LIMIT_MS)}; longer: it was only buffering);`,
    'absorbed/s = ticks sent / (flow + catch-up time): what the store took in, which is its capacity when it fell behind.',
  ].join('\n');
}

function summary(rows: readonly RequestRow[], phaseChecks: readonly IngestCheck[], ladder: readonly IngestCheck[], o: SnapshotBenchOptions): string {
  const lines: string[] = [];
  for (const topics of o.topics) {
    const find = (request: string, flowRate: number, alongside?: string): RequestRow | undefined =>
      rows.find((r) => r.request === request && r.topics === topics && r.flowRate === flowRate && (alongside === undefined || r.alongside === alongside));
    for (const flowRate of [0, o.flowRate]) {
      const snapRow = find('SNAPSHOT "" (all)', flowRate);
      const snap = stats(snapRow?.series);
      const bytes = snapRow?.series.replyBytes;
      const alone = stats(find('PING (2nd client)', flowRate, 'alone (baseline)')?.series);
      const during = stats(find('PING (2nd client)', flowRate, 'back-to-back SNAPSHOTs')?.series);
      const when = flowRate > 0 ? `while ${count(flowRate)} ticks/s flow` : 'idle';
      if (snap && alone && during) {
        const size = bytes === undefined ? '' : ` (${(bytes / 2 ** 20).toFixed(2)} MB reply)`;
        lines.push(`- ${count(topics)} topics, ${when}: SNAPSHOT${size} p50 ${ms(snap.p50)}, p99 ${ms(snap.p99)}; the other client's PING p50 ${ms(alone.p50)} -> ${ms(during.p50)}, ` +
          `p99 ${ms(alone.p99)} -> ${ms(during.p99)}, max ${ms(alone.max)} -> ${ms(during.max)} during back-to-back SNAPSHOTs.`);
      }
    }
  }
  for (const check of phaseChecks) {
    const judged = verdict(check);
    const outcome = judged.outcome === 'ok' ? 'gap-free'
      : judged.outcome === 'inconclusive' ? `gap-free, but the publisher offered only ${count(check.flow.sent / check.flow.seconds)}/s`
        : judged.problem;
    lines.push(`- Ingest at ${count(check.askedRate)} ticks/s over ${count(check.topics)} topics during all those requests: ${outcome} ` +
      `(${count(check.stopped.counts.gap)} gaps, ${check.stale === null ? '-' : count(check.stale)} stale topics, catch-up ${check.catchUpMs === null ? `> ${ms(CATCH_UP_WAIT_MS)}` : ms(check.catchUpMs)}).`);
  }
  for (const check of [...phaseChecks, ...ladder]) {
    const warned = Object.entries(check.stopped.warnings).map(([msg, n]) => `${n}x "${msg}"`);
    if (warned.length > 0) lines.push(`- The snapshot role logged, at ${count(check.askedRate)}/s (${check.load}): ${warned.join(', ')}.`);
  }
  for (const load of ['none', 'back-to-back']) {
    const { rate, firstFailure } = sustainedRate(ladder, load);
    const what = load === 'none' ? 'without SNAPSHOT load' : 'with back-to-back SNAPSHOTs of all topics';
    const failed = firstFailure ? `; first failure at ${count(firstFailure.askedRate)}/s (${verdict(firstFailure).problem})` : '; never failed on this ladder';
    const inconclusive = ladder.filter((c) => c.load === load && verdict(c).outcome === 'inconclusive').map((c) => `${count(c.askedRate)}/s`);
    const passedOver = inconclusive.length > 0 ? `; inconclusive (publisher short): ${inconclusive.join(', ')}` : '';
    lines.push(`- Highest zero-gap ingest rate over ${count(o.ladderTopics)} topics ${what}: ${rate === undefined ? 'none of the rungs' : `${count(rate)} ticks/s`}${failed}${passedOver}.`);
  }
  return lines.join('\n');
}

function progress(text: string): void {
  console.error(`  ${text}`);
}

await main().catch((err: Error) => {
  console.error(`\nbench/snapshot failed: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
