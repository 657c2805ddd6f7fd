/**
 * One case on one server: the load processes connect their clients, then each step sets the
 * feed's rate, lets it settle and measures a window, in the load processes (events, latency)
 * and from outside (the server's CPU and RSS through /proc, the feed's published count).
 */
import { nowMicros } from '../../src/wire/index.js';
import { processCpuMs, processRssBytes } from '../common/proc.js';
import { Child } from '../common/spawn.js';
import { sleepUntil, windowAfter } from '../common/clock.js';
import { mergeHistograms, percentiles, type Percentiles } from '../common/latency.js';
import { machineCpuPercent } from '../common/machine.js';
import type { FanoutOptions } from './args.js';
import type { BookCounts } from './book-check.js';
import { BOOK_PATTERN } from './books.js';
import type { Case } from './cases.js';
import type { Fabric, Server } from './fabric.js';
import { interestPatterns, natsInterestSubjects, selectedShare } from './instruments.js';
import type { ClientSpec, LoadMethods, LoadReport, MeasureParams } from './load.js';

const CALL_MS = 15_000;
const STOP_MS = 5_000;
/** Connecting and subscribing 1,000 clients (with their snapshots) on a busy machine. */
const CONNECT_MS = 60_000;
/** Beyond the window, how long the parent waits for the load processes' reports. */
const REPORT_SLACK_MS = 15_000;
/** How late after the window an event stamped inside it still counts as delivered. */
export const GRACE_MICROS = 1_000_000;
/**
 * In a books case, the first clients of each load process check every book record (book-check.ts):
 * 8 of 1,000 clients at 250 a process, the same number in each. Each pays ~20 µs per record (validate,
 * apply, checksum; measured), as much as the gateway pays for its one book per topic, so a few
 * per process keep the load side well below the gateway.
 */
export const BOOK_CHECKERS_PER_PROCESS = 2;

export interface StepResult {
  readonly case: Case;
  readonly rate: number;
  /** The measured window. */
  readonly seconds: number;
  /** Ticks/s the feed published during the window. */
  readonly offeredPerSecond: number;
  /** Events the clients would have received had every tick reached every interested client. */
  readonly expected: number;
  readonly delivered: number;
  /** Events that arrived inside the window, however old. */
  readonly received: number;
  readonly latency: Percentiles | undefined;
  /** p50 of the window's first and last second: a rising p50 means a growing backlog. */
  readonly firstSecondP50: number | undefined;
  readonly lastSecondP50: number | undefined;
  /** % of one core over the window. */
  readonly serverCpu: number;
  /** The whole machine's CPU over the window, % of one core (up to 100 x cores). */
  readonly machineCpu: number;
  /** What of it programs outside the benchmark used: on a shared machine, how far to trust the row. */
  readonly otherCpu: number;
  /** The server's RSS before its clients connected. */
  readonly serverRssIdle: number;
  readonly serverRssStart: number;
  readonly serverRssEnd: number;
  readonly loadCpus: readonly number[];
  readonly closedClients: number;
  readonly feedDropped: number;
  /** Events of the load side's sample parsed and checked, those that failed, and the first one's problem. */
  readonly checkedEvents: number;
  readonly invalidEvents: number;
  readonly checkProblem: string | undefined;
  /** What the checking clients of a books case found (all zeros in other cases). */
  readonly books: BookCounts;
}

interface Sample {
  readonly atMicros: number;
  readonly cpuMs: number;
  /** The processes that carry the server's ticks together: feed (and on the split fabric proxy and snapshot role). */
  readonly fabricCpuMs: number;
  readonly rss: number;
  readonly published: number;
  readonly dropped: number;
}

export class CaseRun {
  private constructor(
    readonly spec: Case,
    private readonly server: Server,
    private readonly serverRssIdle: number,
    private readonly loads: readonly Child<LoadMethods>[],
  ) {}

  static async start(spec: Case, fabric: Fabric, options: FanoutOptions): Promise<CaseRun> {
    const server = await fabric.startServer(spec.server, { ...options.gatewayEnv, ...spec.gatewayEnv });
    const nats = spec.server === 'nats';
    const perProcess = options.clientsPerProcess ?? (spec.clients >= 1_000 ? Math.ceil(spec.clients / 4) : Math.ceil(spec.clients / 2));
    const specs: ClientSpec[] = Array.from({ length: spec.clients }, (_, i) => clientSpec(spec, i, perProcess));
    const loads: Child<LoadMethods>[] = [];
    for (let first = 0; first < spec.clients; first += perProcess) {
      loads.push(new Child<LoadMethods>(new URL('./load.ts', import.meta.url), `load ${loads.length + 1}`));
    }
    const run = new CaseRun(spec, server, processRssBytes(server.pid), loads);
    try {
      // The fabric's feed was primed with ticks; a book must open with its snapshot before clients ask for it.
      if (spec.traffic === 'books') await server.feed.call('prime', { traffic: 'books' }, CALL_MS);
      await Promise.all(loads.map((load) => load.started()));
      await Promise.all(loads.map((load, i) => load.call(
        'connect',
        { url: server.url, protocol: nats ? 'nats' : 'tickfan', clients: specs.slice(i * perProcess, (i + 1) * perProcess), readPerSecond: spec.readPerSecond, timeoutMs: CONNECT_MS },
        CONNECT_MS + CALL_MS,
      )));
    } catch (err) {
      await run.stop();
      throw err;
    }
    return run;
  }

  async step(rate: number, options: FanoutOptions): Promise<StepResult> {
    const { feed } = this.server;
    await feed.call('rate', { perSecond: rate, traffic: this.spec.traffic }, CALL_MS);
    const seconds = Math.max(options.seconds, this.spec.minSeconds ?? 0);
    const { startMicros, endMicros } = windowAfter(Math.max(options.warmupSeconds, this.spec.minWarmupSeconds ?? 0), seconds);
    // Slow readers are judged by what they read while the window lasts, however stale.
    const window: MeasureParams = { startMicros, endMicros, count: this.spec.readPerSecond > 0 ? 'received' : 'published', graceMicros: GRACE_MICROS };
    const reportMs = (endMicros + GRACE_MICROS - nowMicros()) / 1000 + REPORT_SLACK_MS;
    const reports = Promise.all(this.loads.map((load) => load.call('measure', window, reportMs)));
    const machineCpu = machineCpuPercent({ startMicros, endMicros });
    await sleepUntil(startMicros);
    const start = await this.sample();
    await sleepUntil(endMicros);
    const end = await this.sample();
    return this.result(rate, seconds, start, end, await reports, await machineCpu);
  }

  async stop(): Promise<void> {
    // The split fabric's feed outlives the case: it must not go on publishing into the next one.
    await this.server.feed.call('rate', { perSecond: 0, traffic: this.spec.traffic }, CALL_MS).catch(() => undefined);
    await Promise.all(this.loads.map((load) => load.stop(STOP_MS)));
    await this.server.stop();
  }

  private async sample(): Promise<Sample> {
    const counts = await this.server.feed.call('counts', undefined, CALL_MS);
    return {
      atMicros: nowMicros(),
      cpuMs: processCpuMs(this.server.pid),
      fabricCpuMs: this.server.fabricPids.reduce((sum, pid) => sum + processCpuMs(pid), 0),
      rss: processRssBytes(this.server.pid),
      published: counts.published,
      dropped: counts.dropped,
    };
  }

  private result(rate: number, seconds: number, start: Sample, end: Sample, reports: readonly LoadReport[], machineCpu: number): StepResult {
    // The feed is sampled a little after the load processes open and close their window: a rate, not a count, carries over.
    const wallMs = (end.atMicros - start.atMicros) / 1000;
    const offeredPerSecond = (end.published - start.published) / (wallMs / 1000);
    const serverCpu = (100 * (end.cpuMs - start.cpuMs)) / wallMs;
    const ours = serverCpu + (100 * (end.fabricCpuMs - start.fabricCpuMs)) / wallMs + reports.reduce((sum, r) => sum + r.cpuPercent, 0);
    const p50 = (encoded: readonly string[]): number | undefined => percentiles(mergeHistograms(encoded))?.p50;
    return {
      case: this.spec,
      rate,
      seconds,
      offeredPerSecond,
      expected: offeredPerSecond * seconds * selectedShare(this.spec.interest) * this.spec.clients,
      delivered: reports.reduce((sum, r) => sum + r.events, 0),
      received: reports.reduce((sum, r) => sum + r.received, 0),
      latency: percentiles(mergeHistograms(reports.map((r) => r.latency))),
      firstSecondP50: p50(reports.map((r) => r.firstSecond)),
      lastSecondP50: p50(reports.map((r) => r.lastSecond)),
      serverCpu,
      machineCpu,
      otherCpu: Math.max(0, machineCpu - ours),
      serverRssIdle: this.serverRssIdle,
      serverRssStart: start.rss,
      serverRssEnd: end.rss,
      loadCpus: reports.map((r) => r.cpuPercent),
      closedClients: reports.reduce((sum, r) => sum + r.closed, 0),
      feedDropped: end.dropped - start.dropped,
      checkedEvents: reports.reduce((sum, r) => sum + r.checked, 0),
      invalidEvents: reports.reduce((sum, r) => sum + r.invalid, 0),
      checkProblem: reports.find((r) => r.problem !== undefined)?.problem,
      books: {
        applied: reports.reduce((sum, r) => sum + r.books.applied, 0),
        mismatches: reports.reduce((sum, r) => sum + r.books.mismatches, 0),
        merged: reports.reduce((sum, r) => sum + r.books.merged, 0),
        mergedRecords: reports.reduce((sum, r) => sum + r.books.mergedRecords, 0),
        wholeBooks: reports.reduce((sum, r) => sum + r.books.wholeBooks, 0),
        problem: reports.find((r) => r.books.problem !== undefined)?.books.problem,
      },
    };
  }
}

/** Client i's interest: its share of the tick topics (as NATS subjects for NATS), or every book, and whether it checks books. */
function clientSpec(spec: Case, i: number, perProcess: number): ClientSpec {
  if (spec.traffic === 'books') return { patterns: [BOOK_PATTERN], checksBooks: i % perProcess < BOOK_CHECKERS_PER_PROCESS };
  return { patterns: spec.server === 'nats' ? natsInterestSubjects(i, spec.interest) : interestPatterns(i, spec.interest), checksBooks: false };
}
