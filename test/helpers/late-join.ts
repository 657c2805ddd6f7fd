import { Proxy, Subscriber, XPublisher, XSubscriber } from 'zeromq';
import type { ExecutionContext } from 'ava';
import { SnapshotClient, TickSubscriber, type TickSubscriberOptions, type TopicEntry, type Update } from '../../src/client/zmq/index.js';
import { decodeHeader, decodeMessage, type DecodedMessage } from '../../src/wire/index.js';
import { ipcDir, privateFabricEnv, TickfanProcess } from './tickfan-process.js';
import { Conditions } from './conditions.js';

/**
 * Helpers of the late-joiner tests (test/integration/late-join.test.ts and
 * snapshot-recovery.test.ts): the roles as CLI processes on private ipc endpoints, a witness
 * that records the source's final state independently of the snapshot service, and clients
 * whose update streams are checked as they arrive.
 */

/** `venues` x `perVenue` simulated instruments on venues L0, L1, ..., as the JSON of TICKFAN_FEEDS_SIMULATED_INSTRUMENTS. */
export function instruments(venues: number, perVenue: number): string {
  const list = [];
  for (let v = 0; v < venues; v++) {
    for (let s = 0; s < perVenue; s++) list.push({ venue: `L${v}`, symbol: `S${s}`, tickSize: 0.01, startPrice: 50 + s, lotSize: 1 });
  }
  return JSON.stringify(list);
}

/** How long the stream must stay silent before the witness takes a feed's missing last messages as lost (Witness.final). */
const QUIET_MS = 750;
/** At most this many messages may be lost when a feed process exits: its last bursts. */
const MAX_LOST_AT_EXIT = 500;

/** The topics' final state as the source published it: epoch, seq, ts and record per topic. */
export type FinalState = Map<string, TopicEntry>;

export interface FeedRun {
  readonly epoch: number;
  readonly published: number;
  /** Ticks per second over the run, from the feed's own log timestamps. */
  readonly rate: number;
}

/**
 * The processes of one test: a proxy, snapshot services and feeds started with `tickfan start
 * --roles R` on ipc endpoints of a private directory; `kill()` stops whatever still runs.
 */
/**
 * The simulated feed of these fabrics publishes ticks only, unless a test asks for more: their
 * witness and clients compare each topic's newest record with the source's, which is a tick's
 * state but not a book's (a book's is the book: test/integration/interop-python.test.ts, the
 * snapshot and gateway book tests check those).
 */
const TICKS_ONLY = { TICKFAN_FEEDS_SIMULATED_BOOK_DEPTH: '0', TICKFAN_FEEDS_SIMULATED_TRADES: 'false' };

export class Fabric {
  readonly env: Record<string, string>;
  readonly backend: string;
  readonly snapshotEndpoints: string[] = [];
  private readonly dir = ipcDir();
  private readonly processes: TickfanProcess[] = [];

  constructor(env: Record<string, string> = {}) {
    this.backend = this.dir.endpoint('backend');
    this.env = { ...privateFabricEnv(this.dir), ...TICKS_ONLY, ...env };
  }

  endpoint(name: string): string {
    return this.dir.endpoint(name);
  }

  async start(role: string, env: Record<string, string> = {}): Promise<TickfanProcess> {
    const proc = new TickfanProcess(['start', '--roles', role], { ...this.env, ...env });
    this.processes.push(proc);
    await proc.waitForLog('tickfan started');
    return proc;
  }

  /** Starts a snapshot service on its own endpoint `name` and remembers it for the clients. */
  async startSnapshot(name = 'snapshot', env: Record<string, string> = {}): Promise<TickfanProcess> {
    const endpoint = this.dir.endpoint(name);
    const proc = await this.start('snapshot', { TICKFAN_SNAPSHOT_ENDPOINT: endpoint, ...env });
    if (!this.snapshotEndpoints.includes(endpoint)) this.snapshotEndpoints.push(endpoint);
    return proc;
  }

  kill(): void {
    for (const proc of this.processes) proc.kill();
    this.dir.cleanup();
  }
}

/** Stops a feed process with SIGTERM and reads what it published, and at what rate, from its log. */
export async function stopFeed(feed: TickfanProcess): Promise<FeedRun> {
  const { code } = await feed.stop('SIGTERM');
  if (code !== 0) throw new Error(`the feed exited with code ${code}`);
  const starting = await feed.waitForLog('feed starting');
  const signalled = await feed.waitForLog('shutting down');
  const stopped = await feed.waitForLog('feed stopped');
  const published = stopped.published as number;
  const seconds = ((signalled.time as number) - (starting.time as number)) / 1000;
  return { epoch: stopped.epoch as number, published, rate: Math.round(published / seconds) };
}

/**
 * Every message the proxy sends, read on its own socket with a large receive queue, so it
 * loses nothing while the test process is busy: the source's final state, independent of the
 * snapshot service under test. Only headers are decoded as messages arrive.
 */
export class Witness {
  received = 0;
  /** Messages the last feed run published that never left its process (see final()). */
  lostAtExit = 0;
  private readonly socket = new Subscriber({ receiveHighWaterMark: 5_000_000, linger: 0 });
  private readonly latest = new Map<string, { epoch: number; seq: number; frames: Buffer[] }>();
  /** Per epoch: topics whose newest message is of that epoch, and the sum of their seqs. */
  private readonly byEpoch = new Map<number, { topics: number; seqSum: number }>();
  private readonly conditions = new Conditions();
  private lastMessageAt = performance.now();
  /** Topics yet to tick, one set per everyTopicTicks() call in progress. */
  private readonly untickedSets = new Set<Set<string>>();
  private readonly reading: Promise<void>;

  constructor(endpoint: string) {
    this.socket.connect(endpoint);
    this.socket.subscribe('');
    this.reading = this.read();
  }

  /**
   * Resolves with the source's final state once the witness holds the final message of every
   * topic of a feed run: `topics` topics are at `epoch` and their seqs add up to what the run
   * published (seqs count from 1 without holes at the source, so nothing less adds up to that).
   *
   * One exception is tolerated, and counted in lostAtExit: the CLI ends with process.exit(),
   * which discards what the feed's socket still queues (zeromq.js waits for zmq.lingerMs
   * only on a natural exit), so a stopped feed can lose its last burst. When the stream has
   * gone quiet (QUIET_MS without a message) a little short of the published count, the state
   * delivered is the final one: no subscriber can have seen more.
   */
  async final(run: FeedRun, topics: number, timeoutMs = 30_000): Promise<FinalState> {
    const sums = () => this.byEpoch.get(run.epoch) ?? { topics: 0, seqSum: 0 };
    const complete = () => sums().topics === topics && sums().seqSum === run.published;
    const quiet = () => performance.now() - this.lastMessageAt >= QUIET_MS;
    const what = () => `the witness to hold ${topics} topics of epoch ${run.epoch} adding up to ${run.published} (has ${JSON.stringify(sums())})`;
    // Silence only counts when this process was not itself stalled: after a stall, timers run
    // before the socket delivers what queued meanwhile.
    let lastTick = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      if (now - lastTick < QUIET_MS / 2) this.conditions.check();
      lastTick = now;
    }, QUIET_MS / 5);
    try {
      await this.conditions.until(() => complete() || quiet(), timeoutMs, what);
    } finally {
      clearInterval(ticker);
    }
    this.lostAtExit = run.published - sums().seqSum;
    if (!complete() && (sums().topics !== topics || this.lostAtExit < 0 || this.lostAtExit > MAX_LOST_AT_EXIT)) {
      throw new Error(`the stream went quiet before ${what()}`);
    }
    const state: FinalState = new Map();
    for (const [topic, { frames }] of this.latest) state.set(topic, entryOf(decodeMessage(frames)));
    return state;
  }

  /** Resolves once messages of `count` topics have been seen. */
  topics(count: number, timeoutMs = 15_000): Promise<void> {
    return this.conditions.until(() => this.tickTopics().length >= count, timeoutMs, () => `the witness to see ${count} topics (has ${this.tickTopics().length})`);
  }

  /** Resolves once each of the `count` topics has had a message after this call. */
  everyTopicTicks(count: number, timeoutMs = 15_000): Promise<void> {
    const unticked = new Set(this.tickTopics());
    if (unticked.size !== count) return Promise.reject(new Error(`the witness knows ${unticked.size} topics, not ${count}`));
    this.untickedSets.add(unticked);
    return this.conditions.until(() => unticked.size === 0, timeoutMs, () => `every topic to tick again (${unticked.size} have not)`).finally(() => this.untickedSets.delete(unticked));
  }



  close(): Promise<void> {
    this.socket.close();
    return this.reading;
  }

  private tickTopics(): string[] {
    return [...this.latest.keys()].filter((topic) => topic.startsWith('tick.'));
  }

  private async read(): Promise<void> {
    try {
      for await (const frames of this.socket) this.onMessage(frames);
    } catch (err) {
      if (!this.socket.closed) throw err;
    }
  }

  private onMessage(frames: Buffer[]): void {
    this.received++;
    const { epoch, seq } = decodeHeader(frames[1]!);
    const topic = frames[0]!.toString('latin1');
    const before = this.latest.get(topic);
    // Callers count instruments: status.<venue> topics add to the seq sum (the feed counts
    // them as published) but not to the number of topics.
    const counted = topic.startsWith('tick.') ? 1 : 0;
    if (before !== undefined) this.adjust(before.epoch, -counted, -before.seq);
    this.adjust(epoch, counted, seq);
    this.latest.set(topic, { epoch, seq, frames });
    for (const unticked of this.untickedSets) unticked.delete(topic);
    this.lastMessageAt = performance.now();
    this.conditions.check();
  }



  private adjust(epoch: number, topics: number, seqs: number): void {
    const sums = this.byEpoch.get(epoch) ?? { topics: 0, seqSum: 0 };
    sums.topics += topics;
    sums.seqSum += seqs;
    this.byEpoch.set(epoch, sums);
  }
}

export function entryOf(message: DecodedMessage): TopicEntry {
  const { epoch, seq, ts } = message.header;
  return { epoch, seq, ts, record: message.record };
}

/** The state as plain data, for deepEqual with a readable diff. */
export function plain(entries: Iterable<[string, TopicEntry]>, prefix = ''): Record<string, TopicEntry> {
  const out: Record<string, TopicEntry> = {};
  for (const [topic, entry] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (topic.startsWith(prefix)) out[topic] = { epoch: entry.epoch, seq: entry.seq, ts: entry.ts, record: entry.record };
  }
  return out;
}

/**
 * A TickSubscriber whose update stream is read from before it is ready and checked on the
 * fly: within one epoch of a topic, every update's seq must be above all earlier ones (nothing
 * applied twice, nothing going backwards).
 */
export class TrackedClient {
  readonly subscriber: TickSubscriber;
  updates = 0;
  readonly bySource: Record<Update['source'], number> = { snapshot: 0, replay: 0, live: 0 };
  readonly violations: string[] = [];
  readonly reading: Promise<void>;
  /** Set when the subscriber failed (its update stream rejected). */
  failure: Error | undefined;
  /** Per topic, per epoch: the highest seq applied. */
  private readonly highest = new Map<string, Map<number, number>>();
  private target: { truth: FinalState; differing: Set<string>; resolve: () => void; reject: (err: Error) => void } | undefined;

  constructor(
    readonly name: string,
    readonly options: TickSubscriberOptions,
  ) {
    this.subscriber = new TickSubscriber(options);
    // Taken before the subscriber applies anything: it starts with the initial snapshot.
    const updates = this.subscriber[Symbol.asyncIterator]();
    this.reading = (async () => {
      for (let next = await updates.next(); !next.done; next = await updates.next()) this.check(next.value);
    })();
    this.reading.catch((err: Error) => {
      this.failure = err;
      this.target?.reject(new Error(`${this.name} failed: ${err.message}`));
    });
  }

  get prefix(): string {
    return this.options.prefix;
  }

  /**
   * Resolves once the subscriber's state equals `truth` on every topic of its prefix (and
   * holds no other topic), checked again as each update arrives.
   */
  converge(truth: FinalState, timeoutMs: number): Promise<void> {
    const differing = new Set<string>();
    for (const topic of truth.keys()) if (topic.startsWith(this.prefix)) differing.add(topic);
    for (const topic of this.subscriber.entries()) differing.add(topic[0]);
    for (const topic of [...differing]) if (this.matches(truth, topic)) differing.delete(topic);
    if (differing.size === 0) return Promise.resolve();
    if (this.failure) return Promise.reject(new Error(`${this.name} failed: ${this.failure.message}`));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.target = undefined;
        const sample = [...differing].slice(0, 3).map((topic) => `${topic}: has ${show(this.subscriber.get(topic))}, source ${show(truth.get(topic))}`);
        reject(new Error(`${this.name} did not converge within ${timeoutMs} ms: ${differing.size} topics differ (${sample.join('; ')}); counters ${JSON.stringify(this.subscriber.counters)}`));
      }, timeoutMs);
      this.target = {
        truth,
        differing,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
    });
  }

  async close(): Promise<void> {
    await this.subscriber.close();
    await this.reading.catch(() => {});
  }

  private check(update: Update): void {
    this.updates++;
    this.bySource[update.source]++;
    let epochs = this.highest.get(update.topic);
    if (epochs === undefined) this.highest.set(update.topic, (epochs = new Map()));
    const highest = epochs.get(update.epoch);
    if (highest !== undefined && update.seq <= highest) {
      if (this.violations.length < 20) this.violations.push(`${update.topic} epoch ${update.epoch}: seq ${update.seq} (${update.source}) after ${highest}`);
    } else {
      epochs.set(update.epoch, update.seq);
    }
    const target = this.target;
    if (target === undefined) return;
    if (this.matches(target.truth, update.topic)) target.differing.delete(update.topic);
    else target.differing.add(update.topic);
    if (target.differing.size === 0) {
      this.target = undefined;
      target.resolve();
    }
  }

  private matches(truth: FinalState, topic: string): boolean {
    const want = topic.startsWith(this.prefix) ? truth.get(topic) : undefined;
    const have = this.subscriber.get(topic);
    if (want === undefined || have === undefined) return want === have;
    return want.epoch === have.epoch && want.seq === have.seq;
  }
}

function show(entry: TopicEntry | undefined): string {
  return entry === undefined ? 'nothing' : `epoch ${entry.epoch} seq ${entry.seq}`;
}

/**
 * A lossy last hop: an XSUB/XPUB forwarder (libzmq's proxy on a worker thread) between the
 * proxy and some clients, whose per-subscriber send queue holds only `sendHwm` messages, so
 * ZeroMQ drops what a slow client cannot take, while the snapshot service and the witness
 * stay on the proxy with its large queues.
 */
export async function lossyHop(upstream: string, endpoint: string, sendHwm: number): Promise<{ close(): Promise<void> }> {
  const frontend = new XSubscriber({ receiveHighWaterMark: 1_000_000, linger: 0 });
  const backend = new XPublisher({ sendHighWaterMark: sendHwm, linger: 0 });
  frontend.connect(upstream);
  await backend.bind(endpoint);
  const proxy = new Proxy(frontend, backend);
  const running = proxy.run();
  return {
    async close() {
      proxy.terminate();
      await running;
    },
  };
}

/** Sorted random moments in [0, spanMs), for clients joining while the feed runs. */
export function randomMoments(count: number, spanMs: number): number[] {
  return Array.from({ length: count }, () => Math.random() * spanMs).sort((a, b) => a - b);
}

/**
 * Starts `count` clients at random moments spread over `spanMs` (the test's schedule, not a
 * wait for anything), each built by `make(i)`, pushing them into `clients` as they start so
 * a teardown sees every one.
 */
export async function joinOverTime(clients: TrackedClient[], count: number, spanMs: number, make: (i: number) => TrackedClient): Promise<TrackedClient[]> {
  const started: TrackedClient[] = [];
  const begin = performance.now();
  for (const [i, at] of randomMoments(count, spanMs).entries()) {
    const wait = at - (performance.now() - begin);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const client = make(i);
    clients.push(client);
    started.push(client);
  }
  return started;
}

/** Checks one converged client: its state is the source's on every topic of its prefix, and its update stream was clean. */
export function assertEqualToSource(t: ExecutionContext, client: TrackedClient, truth: FinalState): void {
  const { counters } = client.subscriber;
  t.deepEqual(plain(client.subscriber.entries()), plain(truth, client.prefix), `${client.name}: state equals the source's (epoch, seq, ts, record)`);
  t.deepEqual(client.violations, [], `${client.name}: no seq applied twice or going backwards within an epoch`);
  t.is(client.updates, counters.applied, `${client.name}: every applied change reached the update stream, and nothing else (duplicates were dropped)`);
}

/** Sums a counter over clients. */
export function total(clients: readonly TrackedClient[], counter: keyof TickSubscriber['counters']): number {
  return clients.reduce((sum, client) => sum + client.subscriber.counters[counter], 0);
}

/** A note for the test log when the feed lost its last messages at exit (Witness.final). */
export function lostNote(witness: Witness): string {
  return witness.lostAtExit > 0 ? ` (its last ${witness.lostAtExit} never left the process: the CLI's process.exit() discards queued ZeroMQ messages)` : '';
}

/** The state a snapshot service serves for every topic. */
export async function snapshotState(endpoints: readonly string[]): Promise<FinalState> {
  const client = new SnapshotClient({ endpoints, timeoutMs: 5000 });
  try {
    return new Map((await client.snapshot('')).map((m) => [m.topic, entryOf(m)]));
  } finally {
    client.close();
  }
}

/**
 * The clients and witness a test adds over `net`, closed when the test ends, before the
 * fabric is killed and `cleanup` runs.
 */
export function tornDownWith(t: ExecutionContext, net: Fabric, cleanup: () => void = () => {}): { clients: TrackedClient[]; watch(witness: Witness): Witness } {
  const clients: TrackedClient[] = [];
  let watched: Witness | undefined;
  t.teardown(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await watched?.close();
    net.kill();
    cleanup();
  });
  return { clients, watch: (witness) => (watched = witness) };
}
