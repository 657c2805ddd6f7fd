/**
 * The fault matrix's client host, a child program (test/fleet/fleet.ts starts it in the client
 * namespace): SDK WebSocket clients through the load balancer, some conflate:false and some
 * conflate:true, and a ZeroMQ TickSubscriber on the proxies' backends. Every update each one
 * applies is checked as it arrives (seq continuity per topic and epoch, epoch changes) and
 * counted per matrix row, with reconnects, close codes, the longest silence and when updates
 * published after the row's fault started arriving. It is also the test's eye inside the
 * network: scrape() reads a host's /metrics.
 */
import { connect, type TickfanClient, type Update as WsUpdate } from '../../src/client/ws/index.js';
import { TickSubscriber, type Update as ZmqUpdate } from '../../src/client/zmq/index.js';
import { serve } from '../../bench/common/child.js';
import { Conditions } from '../helpers/conditions.js';
import type { SourceState } from './source.js';

export interface ClientsSetup {
  /** The load balancer's WebSocket URL. */
  readonly wsUrl: string;
  readonly wsPattern: string;
  /** One WebSocket client per entry, named after its conflate setting and index. */
  readonly ws: readonly { readonly conflate: boolean }[];
  /** Proxy backends and snapshot services of the TickSubscriber. */
  readonly backends: readonly string[];
  readonly snapshots: readonly string[];
  readonly prefix: string;
  /** The TickSubscriber's A/B window (subscriber.arbitrationMs), as the fleet's roles have it. */
  readonly arbitrationMs: number;
}

/** What one client saw during one row of the matrix. */
export interface ClientRowStats {
  readonly name: string;
  readonly kind: 'ws' | 'zmq';
  readonly conflate: boolean;
  readonly applied: number;
  /** Applied updates whose seq jumped over others of their epoch, and how many seqs they jumped. */
  readonly holes: number;
  readonly lostSeqs: number;
  /** Applied updates at or below the seq already held in their epoch: applied twice (or backwards). */
  readonly appliedTwice: number;
  readonly epochChanges: number;
  readonly reconnects: number;
  /** Close codes of the connections that ended (WebSocket clients). */
  readonly closeCodes: readonly number[];
  /** The SDK's own counters over the row (duplicates it dropped, gaps it repaired, ...). */
  readonly sdk: Readonly<Record<string, number>>;
  /** Updates the TickSubscriber applied from REPLAY or a snapshot after its start. */
  readonly repaired: number;
  /** ms from the fault to the first applied update published after it; undefined when none came. */
  readonly recoveredMs: number | undefined;
  /** The longest time between two updates applied during the row (a client that stopped applying altogether shows as not recovered). */
  readonly longestSilenceMs: number;
}

interface Applied {
  readonly topic: string;
  readonly epoch: number;
  readonly seq: number;
  /** The source's publication time, microseconds. */
  readonly ts: number;
  readonly repaired: boolean;
}

/** One client's checks and row counters, fed every update it applies. */
class Tracker {
  private held = new Map<string, { epoch: number; seq: number }>();
  private row = Tracker.freshRow();
  private sdkBaseline: Record<string, number> = {};
  private faultAtMs: number | undefined;
  /** When the row's latest update was applied; silences count from the row's first. */
  private lastAppliedAt: number | undefined;

  constructor(
    readonly name: string,
    readonly kind: 'ws' | 'zmq',
    readonly conflate: boolean,
    private readonly sdkCounters: () => Record<string, number>,
    readonly entry: (topic: string) => { epoch: number; seq: number; n: unknown } | undefined,
    private readonly conditions: Conditions,
  ) {}

  private static freshRow() {
    return {
      applied: 0, holes: 0, lostSeqs: 0, appliedTwice: 0, epochChanges: 0, reconnects: 0, repaired: 0,
      closeCodes: [] as number[], recoveredAt: undefined as number | undefined, longestSilenceMs: 0,
    };
  }

  beginRow(): void {
    this.row = Tracker.freshRow();
    this.sdkBaseline = { ...this.sdkCounters() };
    this.faultAtMs = undefined;
    this.lastAppliedAt = undefined;
  }

  get recovered(): boolean {
    return this.row.recoveredAt !== undefined;
  }

  markFault(atMs: number): void {
    this.faultAtMs = atMs;
  }

  onApplied({ topic, epoch, seq, ts, repaired }: Applied): void {
    const now = Date.now();
    const row = this.row;
    row.applied++;
    if (repaired) row.repaired++;
    if (this.lastAppliedAt !== undefined) row.longestSilenceMs = Math.max(row.longestSilenceMs, now - this.lastAppliedAt);
    this.lastAppliedAt = now;
    if (this.faultAtMs !== undefined && row.recoveredAt === undefined && ts / 1000 >= this.faultAtMs) row.recoveredAt = now;
    const before = this.held.get(topic);
    this.held.set(topic, { epoch, seq });
    if (before !== undefined) this.follow(before, epoch, seq);
    this.conditions.check();
  }

  /** Counts what an update of a held topic did to its sequence: a new epoch, a step back or in place, or a jump over seqs. */
  private follow(before: { epoch: number; seq: number }, epoch: number, seq: number): void {
    if (before.epoch !== epoch) this.row.epochChanges++;
    else if (seq <= before.seq) this.row.appliedTwice++;
    else if (seq > before.seq + 1) {
      this.row.holes++;
      this.row.lostSeqs += seq - before.seq - 1;
    }
  }

  onClosed(code: number): void {
    this.row.closeCodes.push(code);
    this.row.reconnects++;
  }

  stats(): ClientRowStats {
    const { recoveredAt, closeCodes, ...counts } = this.row;
    const sdk: Record<string, number> = {};
    for (const [key, value] of Object.entries(this.sdkCounters())) sdk[key] = value - (this.sdkBaseline[key] ?? 0);
    return {
      name: this.name, kind: this.kind, conflate: this.conflate, ...counts, closeCodes: [...closeCodes], sdk,
      recoveredMs: recoveredAt === undefined || this.faultAtMs === undefined ? undefined : recoveredAt - this.faultAtMs,
    };
  }

  /** Whether this client holds the source's state on every topic. */
  holds(truth: SourceState): boolean {
    return Object.entries(truth).every(([topic, want]) => {
      const has = this.entry(topic);
      return has?.epoch === want.epoch && has.seq === want.seq && has.n === want.n;
    });
  }

  /** Topics where this client's state differs from the source's, described. */
  differences(truth: SourceState): string[] {
    const out: string[] = [];
    for (const [topic, want] of Object.entries(truth)) {
      const has = this.entry(topic);
      if (has?.epoch !== want.epoch || has.seq !== want.seq || has.n !== want.n) {
        out.push(`${topic}: has ${has === undefined ? 'nothing' : `epoch ${has.epoch} seq ${has.seq} n ${String(has.n)}`}, source epoch ${want.epoch} seq ${want.seq} n ${want.n}`);
      }
    }
    return out;
  }
}

const conditions = new Conditions();
let setup: ClientsSetup | undefined;
let trackers: Tracker[] = [];
let wsClients: TickfanClient[] = [];
let subscriber: TickSubscriber | undefined;

async function startWs(setup: ClientsSetup, conflate: boolean, index: number): Promise<void> {
  const client = await connect(setup.wsUrl, { minReconnectDelayMs: 100, maxReconnectDelayMs: 2_000, waitOnFirstConnect: true });
  wsClients.push(client);
  const tracker = new Tracker(`ws-${conflate ? 'conflate' : 'every'}-${index}`, 'ws', conflate, () => ({ ...client.counters }), (topic) => {
    const held = client.get(topic);
    return held && { epoch: held.epoch, seq: held.seq, n: held.record.n };
  }, conditions);
  trackers.push(tracker);
  client.on('update', (update: WsUpdate) => tracker.onApplied({ ...update, repaired: false }));
  client.on('state', (change) => {
    if (change.state === 'reconnecting') tracker.onClosed(change.code ?? 0);
  });
  await client.subscribe([setup.wsPattern], { conflate });
}

async function startZmq(setup: ClientsSetup): Promise<void> {
  const zmq = new TickSubscriber({ endpoint: setup.backends, prefix: setup.prefix, snapshotEndpoints: setup.snapshots, snapshotTimeoutMs: 1_000, arbitrationMs: setup.arbitrationMs });
  subscriber = zmq;
  const counters = () => ({
    ...zmq.counters,
    lineDuplicates: zmq.lines().reduce((sum, line) => sum + line.duplicates, 0),
    holesFilledByOtherLine: zmq.holes().filled,
    holesExpired: zmq.holes().expired,
  });
  const tracker = new Tracker('zmq-subscriber', 'zmq', false, counters, (topic) => {
    const held = zmq.get(topic);
    return held && { epoch: held.epoch, seq: held.seq, n: (held.record as { n?: unknown }).n };
  }, conditions);
  trackers.push(tracker);
  const updates = zmq[Symbol.asyncIterator]();
  void (async () => {
    for (let next = await updates.next(); !next.done; next = await updates.next()) {
      const update: ZmqUpdate = next.value;
      tracker.onApplied({ ...update, repaired: update.source !== 'live' });
    }
  })();
  await zmq.ready;
}

async function closeClients(): Promise<void> {
  await Promise.all([...wsClients.map((client) => client.close()), subscriber?.close()]);
  wsClients = [];
  subscriber = undefined;
  trackers = [];
}

const methods = {
  async setup(params: ClientsSetup): Promise<void> {
    setup = params;
  },

  /**
   * Starts a row with a fresh set of clients, connected one after the other so the load
   * balancer's leastconn spreads them evenly over the gateways whatever earlier rows did;
   * every count of the row starts now.
   */
  async beginRow(): Promise<string[]> {
    await closeClients();
    for (const [index, { conflate }] of setup!.ws.entries()) await startWs(setup!, conflate, index);
    await startZmq(setup!);
    for (const tracker of trackers) tracker.beginRow();
    return trackers.map((tracker) => tracker.name);
  },

  /** The row's fault happens at `atMs` (ms since the Unix epoch): recovery is measured from it. */
  async markFault(params: { atMs: number }): Promise<void> {
    for (const tracker of trackers) tracker.markFault(params.atMs);
  },

  /** Resolves once every client has applied an update published after the fault; rejects after timeoutMs naming those that have not. */
  async recovered(params: { timeoutMs: number }): Promise<void> {
    const waiting = () => trackers.filter((tracker) => !tracker.recovered).map((tracker) => tracker.name);
    await conditions.until(() => waiting().length === 0, params.timeoutMs, () => `every client to apply an update published after the fault (${waiting().join(', ')} have not)`);
  },

  /**
   * Resolves once every client holds the source's state on every topic, with how long that
   * took; when timeoutMs passes first, with what still differs per client.
   */
  async settle(params: { truth: SourceState; timeoutMs: number }): Promise<{ settled: boolean; ms: number; differences: Record<string, string[]> }> {
    const started = performance.now();
    const settled = await conditions
      .until(() => trackers.every((tracker) => tracker.holds(params.truth)), params.timeoutMs, () => 'every client to hold the source state')
      .then(() => true, () => false);
    const differences: Record<string, string[]> = {};
    for (const tracker of trackers) {
      const differing = tracker.differences(params.truth);
      if (differing.length > 0) differences[tracker.name] = [`${differing.length} topics differ`, ...differing.slice(0, 3)];
    }
    return { settled, ms: Math.round(performance.now() - started), differences };
  },

  async stats(): Promise<ClientRowStats[]> {
    return trackers.map((tracker) => tracker.stats());
  },

  /** The text of `url` (a host's /metrics), fetched from inside the network. */
  async scrape(params: { url: string }): Promise<string> {
    const response = await fetch(params.url, { signal: AbortSignal.timeout(3_000) });
    if (!response.ok) throw new Error(`${params.url} answered ${response.status}`);
    return response.text();
  },
};

export type ClientsMethods = typeof methods;

serve(methods, closeClients);
