/**
 * The fabric under test, as deployed (`tickfan start --roles ...`, the built CLI) on private
 * ipc endpoints: each role in its own process, or all three in one. The gateway follows every
 * topic with no client: one client subscribes `*` and leaves, and a long
 * gateway.upstreamLingerMs keeps the upstream subscription (the gateway only subscribes on
 * client demand), so what is measured is the gateway's upstream alone.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { Child } from '../common/spawn.js';
import { TickfanProcess, ipcDir, privateFabricEnv, withTimeout } from '../common/tickfan-process.js';
import type { FeedMethods } from '../fanout/feed.js';
import type { BareSubscriberMethods } from './bare-subscriber.js';
import { scrapeTotals, type MetricTotals } from './metrics.js';

export const LAYOUT_NAMES = ['split', 'all-in-one'] as const;
export type LayoutName = (typeof LAYOUT_NAMES)[number];

/** The bench feeds, by the program each runs: both speak FeedMethods. */
const FEED_PROGRAMS = {
  publisher: new URL('../fanout/feed.ts', import.meta.url),
  raw: new URL('./raw-feed.ts', import.meta.url),
} as const;
export const FEED_KINDS = Object.keys(FEED_PROGRAMS) as readonly (keyof typeof FEED_PROGRAMS)[];
export type FeedKind = keyof typeof FEED_PROGRAMS;

const ROLES_OF: Readonly<Record<LayoutName, readonly (readonly string[])[]>> = {
  split: [['proxy'], ['snapshot'], ['gateway']],
  'all-in-one': [['proxy', 'snapshot', 'gateway']],
};

/** The log line after which each role serves, in start order. */
const READY_LOG: Readonly<Record<string, string>> = {
  proxy: 'proxy listening',
  snapshot: 'snapshot service listening',
  gateway: 'gateway listening',
};

const STARTUP_MS = 30_000;
const CALL_MS = 15_000;
/** SIGTERM to exit; a profiled process also writes its profile then. */
const STOP_MS = 15_000;
/** Longer than any run: the upstream stays subscribed after the set-up client left. */
const LINGER_MS = 3_600_000;

/** Every tickfan process started, so that none outlives the benchmark whatever happens to it. */
const everyTickfan = new Set<TickfanProcess>();
process.on('exit', () => {
  for (const proc of everyTickfan) proc.kill();
});

export interface RoleProcess {
  /** The role it runs, or `all-in-one`. */
  readonly label: string;
  readonly roles: readonly string[];
  readonly proc: TickfanProcess;
  readonly metricsPort: number;
  /** Where node writes its CPU profile on exit, when profiled. */
  readonly profileDir: string | undefined;
}

/** A tickfan build to measure: this checkout's, or another's to compare with (before and after a change). */
export interface Build {
  readonly label: string;
  /** Its bin/tickfan.js, run from its own dist/. */
  readonly bin: string;
}

export class Layout {
  private constructor(
    readonly name: LayoutName,
    readonly build: Build,
    readonly processes: readonly RoleProcess[],
    readonly feed: Child<FeedMethods>,
    /** The bare subscriber, when asked for: a reference, not part of the fabric. */
    readonly reference: Child<BareSubscriberMethods> | undefined,
    private readonly dir: ReturnType<typeof ipcDir>,
  ) {}

  /** Starts the roles, the feed (primed: one tick of every instrument), and the gateway's following. */
  static async start(name: LayoutName, build: Build, feedKind: FeedKind, bareSubscriber: boolean, profileRoot: string | undefined): Promise<Layout> {
    const dir = ipcDir();
    const env = {
      ...privateFabricEnv(dir),
      TICKFAN_GATEWAY_UPSTREAM_LINGER_MS: String(LINGER_MS),
      // No clients to drain: stopping (and writing the profile) should not wait.
      TICKFAN_GATEWAY_DRAIN_MS: '0',
    };
    const processes: RoleProcess[] = [];
    const feed = new Child<FeedMethods>(FEED_PROGRAMS[feedKind], `${build.label} ${name} ${feedKind} feed`);
    const reference = bareSubscriber ? new Child<BareSubscriberMethods>(new URL('./bare-subscriber.ts', import.meta.url), `${build.label} ${name} bare subscriber`) : undefined;
    const layout = new Layout(name, build, processes, feed, reference, dir);
    try {
      for (const roles of ROLES_OF[name]) processes.push(await startRoles(roles, build.bin, env, profileRoot));
      await feed.started();
      await feed.call('start', { frontend: env.TICKFAN_CONNECT_FRONTEND }, CALL_MS);
      await feed.call('prime', { traffic: 'ticks' }, CALL_MS);
      await followEverything(layout.gateway);
      if (reference !== undefined) {
        await reference.started();
        await reference.call('start', { backend: env.TICKFAN_CONNECT_BACKEND }, CALL_MS);
      }
    } catch (err) {
      await layout.close();
      throw err;
    }
    return layout;
  }

  /** Each process's counters; the whole layout's totals, summed. */
  async totals(): Promise<MetricTotals> {
    const all = await Promise.all(this.processes.map((role) => scrapeTotals(role.metricsPort)));
    const sum = new Map<string, number>();
    for (const totals of all) for (const [name, value] of totals) sum.set(name, (sum.get(name) ?? 0) + value);
    return sum;
  }

  async close(): Promise<void> {
    await this.feed.stop(STOP_MS);
    await this.reference?.stop(STOP_MS);
    await Promise.all(this.processes.map(({ proc }) => stopTickfan(proc)));
    this.dir.cleanup();
  }

  private get gateway(): RoleProcess & { url: string } {
    const role = this.processes.find(({ roles }) => roles.includes('gateway'))!;
    const listening = role.proc.logs.find((line) => line.msg === READY_LOG.gateway)!;
    return { ...role, url: `ws://127.0.0.1:${String(listening.port)}${String(listening.path)}` };
  }
}

async function startRoles(roles: readonly string[], bin: string, env: Record<string, string>, profileRoot: string | undefined): Promise<RoleProcess> {
  const label = roles.length === 1 ? roles[0]! : 'all-in-one';
  const profileDir = profileRoot === undefined ? undefined : join(profileRoot, label);
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
  const nodeArgs = profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir];
  const proc = new TickfanProcess(['start', '--roles', roles.join(',')], env, { nodeArgs, bin });
  everyTickfan.add(proc);
  void proc.exited.then(() => everyTickfan.delete(proc));
  try {
    const metrics = await proc.waitForLog('metrics listening', undefined, STARTUP_MS);
    for (const role of roles) await proc.waitForLog(READY_LOG[role]!, undefined, STARTUP_MS);
    return { label, roles, proc, metricsPort: Number(metrics.port), profileDir };
  } catch (err) {
    proc.kill();
    throw err;
  }
}

/** One client subscribes `*` (no snapshot) and closes: the upstream then follows every topic, lingering, with no client. */
async function followEverything(gateway: { readonly url: string }): Promise<void> {
  const socket = new WebSocket(gateway.url);
  const subscribed = new Promise<void>((resolve, reject) => {
    socket.on('open', () => socket.send(JSON.stringify({ op: 'subscribe', id: 1, topics: ['*'], snapshot: false })));
    socket.on('message', (data) => {
      const events = JSON.parse(String(data)) as { type: string; id?: unknown; code?: string; message?: string }[];
      for (const event of events) {
        if (event.type === 'subscribed' && event.id === 1) resolve();
        if (event.type === 'error') reject(new Error(`the gateway refused the set-up subscription: ${event.code}: ${event.message}`));
      }
    });
    socket.on('error', reject);
  });
  try {
    await withTimeout(subscribed, CALL_MS, 'the set-up client\'s subscription to *');
  } finally {
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.close();
    await withTimeout(closed, CALL_MS, 'the set-up client to close');
  }
}

async function stopTickfan(proc: TickfanProcess): Promise<void> {
  try {
    await proc.stop('SIGTERM', STOP_MS);
  } catch {
    proc.kill();
  }
}
