/**
 * The processes under test: proxy and snapshot roles as `tickfan start --roles <role>` (the
 * built CLI, as deployed) on private ipc endpoints, the bench feed, and per case the server
 * the clients connect to: tickfan's gateway role or the baseline.
 */
import { TickfanProcess, ipcDir, privateFabricEnv } from '../common/tickfan-process.js';
import { Child } from '../common/spawn.js';
import type { BaselineMethods } from './baseline-server.js';
import type { ServerKind } from './cases.js';
import type { FeedMethods } from './feed.js';

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

/** The server the clients of a case connect to. */
export interface Server {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
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
    const feed = new Child<FeedMethods>(new URL('./feed.ts', import.meta.url), 'feed');
    const fabric = new Fabric(dir, env, [proxy, snapshot], feed);
    try {
      await proxy.waitForLog('proxy listening', undefined, STARTUP_MS);
      await snapshot.waitForLog('snapshot service listening', undefined, STARTUP_MS);
      await feed.started();
      await feed.call('start', { frontend: env.TICKFAN_CONNECT_FRONTEND }, CALL_MS);
      await feed.call('prime', undefined, CALL_MS);
    } catch (err) {
      await fabric.close();
      throw err;
    }
    return fabric;
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
    return kind === 'tickfan' ? this.startGateway(gatewayEnv) : this.startBaseline();
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
      const listening = await gateway.waitForLog('gateway listening', undefined, STARTUP_MS);
      return {
        url: `ws://127.0.0.1:${String(listening.port)}${String(listening.path)}`,
        pid: gateway.child.pid!,
        stop: () => stopTickfan(gateway),
      };
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
      return { url, pid: baseline.pid!, stop: () => baseline.stop(STOP_MS) };
    } catch (err) {
      await baseline.stop(STOP_MS);
      throw err;
    }
  }
}
