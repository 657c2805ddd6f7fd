/**
 * The processes under test: proxy and snapshot roles as `tickfan start --roles <role>` (the
 * built CLI, as deployed) on private ipc endpoints, the bench feed, and per case the server
 * the clients connect to: tickfan's gateway role or the baseline on that split fabric, or a
 * peer with a bench feed of its own: the all-in-one layout (`--roles proxy,snapshot,gateway`,
 * one process) or nats-server.
 */
import { TickfanProcess, ipcDir, privateFabricEnv } from '../common/tickfan-process.js';
import { Child } from '../common/spawn.js';
import type { BaselineMethods } from './baseline-server.js';
import type { ServerKind } from './cases.js';
import type { FeedMethods, FeedTarget } from './feed.js';
import { NatsServer } from './nats-server.js';

const CALL_MS = 15_000;
const STARTUP_MS = 30_000;
const STOP_MS = 5_000;

/** Every tickfan process started and ipc directory made, so that none outlives the benchmark whatever happens to it. */
const everyTickfan = new Set<TickfanProcess>();
const everyDir = new Set<ReturnType<typeof ipcDir>>();
process.on('exit', () => {
  for (const proc of everyTickfan) proc.kill();
  for (const dir of everyDir) dir.cleanup();
});

function tickfan(role: string, env: Record<string, string>): TickfanProcess {
  const proc = new TickfanProcess(['start', '--roles', role], env);
  everyTickfan.add(proc);
  void proc.exited.then(() => everyTickfan.delete(proc));
  return proc;
}

async function stopTickfan(proc: TickfanProcess): Promise<void> {
  try {
    await proc.stop('SIGTERM');
  } catch {
    proc.kill();
  }
}

/** The server the clients of a case connect to, and the feed whose ticks it serves. */
export interface Server {
  readonly url: string;
  readonly pid: number;
  readonly feed: Child<FeedMethods>;
  /** The other processes that carry its ticks (feed, and proxy and snapshot role on the split fabric). */
  readonly fabricPids: readonly number[];
  stop(): Promise<void>;
}

/** A bench feed publishing to `target`; with `prime`, one tick of every instrument is out before it resolves. */
async function startFeed(label: string, target: FeedTarget, prime: boolean): Promise<Child<FeedMethods>> {
  const feed = new Child<FeedMethods>(new URL('./feed.ts', import.meta.url), label);
  try {
    await feed.started();
    await feed.call('start', target, CALL_MS);
    if (prime) await feed.call('prime', { traffic: 'ticks' }, CALL_MS);
  } catch (err) {
    await feed.stop(STOP_MS);
    throw err;
  }
  return feed;
}

/** `gateway listening`'s URL. */
async function gatewayUrl(proc: TickfanProcess): Promise<string> {
  const listening = await proc.waitForLog('gateway listening', undefined, STARTUP_MS);
  return `ws://127.0.0.1:${String(listening.port)}${String(listening.path)}`;
}

export class Fabric {
  private constructor(
    private readonly dir: ReturnType<typeof ipcDir>,
    private readonly env: Record<string, string>,
    private readonly roles: readonly TickfanProcess[],
    readonly feed: Child<FeedMethods>,
  ) {}

  /** Proxy, snapshot role and feed, the feed having published one tick of every instrument. */
  static async start(): Promise<Fabric> {
    const dir = ipcDir();
    everyDir.add(dir);
    const env = privateFabricEnv(dir);
    const proxy = tickfan('proxy', env);
    const snapshot = tickfan('snapshot', env);
    try {
      await proxy.waitForLog('proxy listening', undefined, STARTUP_MS);
      await snapshot.waitForLog('snapshot service listening', undefined, STARTUP_MS);
      const feed = await startFeed('feed', { frontend: env.TICKFAN_CONNECT_FRONTEND }, true);
      return new Fabric(dir, env, [proxy, snapshot], feed);
    } catch (err) {
      await Promise.all([proxy, snapshot].map(stopTickfan));
      dir.cleanup();
      everyDir.delete(dir);
      throw err;
    }
  }

  /** The processes that run in every case: proxy, snapshot role, feed. */
  get pids(): number[] {
    return [...this.roles.map((role) => role.child.pid!), this.feed.pid!];
  }

  get backend(): string {
    return this.env.TICKFAN_CONNECT_BACKEND!;
  }

  /** `gatewayEnv`: settings of a tickfan gateway on top of the fabric's. */
  async startServer(kind: ServerKind, gatewayEnv: Readonly<Record<string, string>> = {}): Promise<Server> {
    switch (kind) {
      case 'tickfan':
        return this.startGateway(gatewayEnv);
      case 'baseline':
        return this.startBaseline();
      case 'allinone':
        return startAllInOne(gatewayEnv);
      case 'nats':
        return startNats();
    }
  }

  async close(): Promise<void> {
    await this.feed.stop(STOP_MS);
    await Promise.all(this.roles.map(stopTickfan));
    this.dir.cleanup();
    everyDir.delete(this.dir);
  }

  private async startGateway(gatewayEnv: Readonly<Record<string, string>>): Promise<Server> {
    const gateway = tickfan('gateway', { ...this.env, ...gatewayEnv });
    try {
      return { url: await gatewayUrl(gateway), pid: gateway.child.pid!, feed: this.feed, fabricPids: this.pids, stop: () => stopTickfan(gateway) };
    } catch (err) {
      gateway.kill();
      throw err;
    }
  }

  private async startBaseline(): Promise<Server> {
    const baseline = new Child<BaselineMethods>(new URL('./baseline-server.ts', import.meta.url), 'baseline');
    try {
      await baseline.started();
      const { url } = await baseline.call('start', { backend: this.backend }, CALL_MS);
      return { url, pid: baseline.pid!, feed: this.feed, fabricPids: this.pids, stop: () => baseline.stop(STOP_MS) };
    } catch (err) {
      await baseline.stop(STOP_MS);
      throw err;
    }
  }
}

/** The all-in-one layout on private ipc endpoints of its own, and a feed primed into it. */
async function startAllInOne(gatewayEnv: Readonly<Record<string, string>>): Promise<Server> {
  const dir = ipcDir();
  everyDir.add(dir);
  const env = privateFabricEnv(dir);
  const proc = tickfan('proxy,snapshot,gateway', { ...env, ...gatewayEnv });
  const cleanup = async (): Promise<void> => {
    await stopTickfan(proc);
    dir.cleanup();
    everyDir.delete(dir);
  };
  try {
    const url = await gatewayUrl(proc);
    await proc.waitForLog('snapshot service listening', undefined, STARTUP_MS);
    const feed = await startFeed('feed (all-in-one)', { frontend: env.TICKFAN_CONNECT_FRONTEND }, true);
    return {
      url, pid: proc.child.pid!, feed, fabricPids: [feed.pid!],
      stop: async () => {
        await feed.stop(STOP_MS);
        await cleanup();
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** nats-server and a feed publishing to it (NATS keeps no snapshot: nothing to prime). */
async function startNats(): Promise<Server> {
  const nats = await NatsServer.start();
  try {
    const feed = await startFeed('feed (NATS)', { natsPort: nats.port }, false);
    return {
      url: nats.wsUrl, pid: nats.pid, feed, fabricPids: [feed.pid!],
      stop: async () => {
        await feed.stop(STOP_MS);
        await nats.stop();
      },
    };
  } catch (err) {
    await nats.stop();
    throw err;
  }
}
