/**
 * The processes under test: proxy and snapshot role (`tickfan start --roles <role>`, the built
 * CLI) on private ipc endpoints, the broadcaster feeding them, and the gateway role, which the
 * benchmark kills and starts again (same port) for the reconnect storm. The gateway runs with a
 * raised file limit (prlimit on its own exec), the machine's stays as it is.
 */
import { readFileSync } from 'node:fs';
import { SnapshotClient } from '../../src/client/zmq/index.js';
import { Child } from '../common/spawn.js';
import { TickfanProcess, ipcDir, privateFabricEnv } from '../common/tickfan-process.js';
import type { BroadcasterMethods } from './broadcaster.js';
import { heapUsedBytes } from './metrics-text.js';

const STARTUP_MS = 30_000;
const CALL_MS = 15_000;
const STOP_MS = 5_000;
/** How long the snapshot role may take to hold the first tick. */
const SNAPSHOT_WAIT_MS = 5_000;

/** Open files wanted for the gateway and the load processes: the connections and some. */
export const FILE_LIMIT = 200_000;
/**
 * Runs a program with FILE_LIMIT open files or, where raising the hard limit is not allowed (no
 * CAP_SYS_RESOURCE, as in some containers), the hard limit; bash execs it in place, so its pid
 * and IPC channel stay.
 */
export const RAISED_FILE_LIMIT = ['bash', '-c', `ulimit -n ${FILE_LIMIT} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`, 'bash'];

/** A process's open-file limit (soft), from /proc/<pid>/limits. */
export function openFileLimit(pid: number): number {
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, 'latin1'));
  if (match === null) throw new Error(`/proc/${pid}/limits has no Max open files line`);
  return match[1] === 'unlimited' ? Infinity : Number(match[1]);
}

export const VENUE = 'BENCH';
export const SYMBOL = 'ALL';
/** The one topic every client follows. */
export const TOPIC = `tick.${VENUE}.${SYMBOL}`;

const everyTickfan = new Set<TickfanProcess>();
process.on('exit', () => {
  for (const proc of everyTickfan) proc.kill();
});

function tickfan(role: string, env: Record<string, string>): TickfanProcess {
  const proc = new TickfanProcess(['start', '--roles', role], env, role === 'gateway' ? { launcher: RAISED_FILE_LIMIT } : {});
  everyTickfan.add(proc);
  void proc.exited.then(() => everyTickfan.delete(proc));
  return proc;
}

async function stopTickfan(proc: TickfanProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  try {
    await proc.stop(signal);
  } catch {
    proc.kill();
  }
}

/** A running gateway role: its pid, its clients' URL and its metrics. */
export class Gateway {
  private constructor(
    private readonly proc: TickfanProcess,
    readonly port: number,
    private readonly metricsPort: number,
  ) {}

  static async start(env: Record<string, string>): Promise<Gateway> {
    const proc = tickfan('gateway', env);
    try {
      const listening = await proc.waitForLog('gateway listening', undefined, STARTUP_MS);
      const metrics = await proc.waitForLog('metrics listening', undefined, STARTUP_MS);
      return new Gateway(proc, Number(listening.port), Number(metrics.port));
    } catch (err) {
      proc.kill();
      throw err;
    }
  }

  get pid(): number {
    return this.proc.child.pid!;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/v1/ws`;
  }

  /** V8 heap in use (prom-client's nodejs_heap_size_used_bytes), garbage not yet collected included. */
  async heapUsed(): Promise<number> {
    const response = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`, { signal: AbortSignal.timeout(CALL_MS) });
    return heapUsedBytes(await response.text());
  }

  /** Kills the process (SIGKILL: a crash, no drain) and resolves once it is gone. */
  async kill(): Promise<void> {
    this.proc.kill();
    await this.proc.exited;
  }

  /** Stops it at once (SIGINT: no drain window). */
  stop(): Promise<void> {
    return stopTickfan(this.proc, 'SIGINT');
  }
}

export class Fabric {
  private constructor(
    private readonly dir: ReturnType<typeof ipcDir>,
    readonly env: Record<string, string>,
    private readonly roles: readonly TickfanProcess[],
    readonly broadcaster: Child<BroadcasterMethods>,
  ) {}

  /** Proxy, snapshot role and broadcaster, the snapshot role holding one tick of TOPIC. */
  static async start(): Promise<Fabric> {
    const dir = ipcDir();
    const env = privateFabricEnv(dir);
    const roles = [tickfan('proxy', env), tickfan('snapshot', env)];
    const broadcaster = new Child<BroadcasterMethods>(new URL('./broadcaster.ts', import.meta.url), 'broadcaster');
    const fabric = new Fabric(dir, env, roles, broadcaster);
    try {
      await roles[0]!.waitForLog('proxy listening', undefined, STARTUP_MS);
      await roles[1]!.waitForLog('snapshot service listening', undefined, STARTUP_MS);
      await broadcaster.started();
      await broadcaster.call('start', { frontend: env.TICKFAN_CONNECT_FRONTEND }, CALL_MS);
      await fabric.publish();
      await fabric.heldBySnapshotRole();
      return fabric;
    } catch (err) {
      await fabric.close();
      throw err;
    }
  }

  get pids(): number[] {
    return [...this.roles.map((role) => role.child.pid!), this.broadcaster.pid!];
  }

  /** The seq of the last tick of TOPIC published. */
  lastSeq = 0;

  /** Publishes the next tick of TOPIC; resolves with its seq. */
  async publish(): Promise<number> {
    this.lastSeq = (await this.broadcaster.call('publish', { venue: VENUE, symbol: SYMBOL }, CALL_MS)).seq;
    return this.lastSeq;
  }

  async close(): Promise<void> {
    await this.broadcaster.stop(STOP_MS);
    await Promise.all(this.roles.map((role) => stopTickfan(role)));
    this.dir.cleanup();
  }

  /** Waits (bounded) until the snapshot role holds TOPIC, so every client's first subscribe gets its snapshot. */
  private async heldBySnapshotRole(): Promise<void> {
    const client = new SnapshotClient({ endpoints: [this.env.TICKFAN_CONNECT_SNAPSHOT!], timeoutMs: CALL_MS });
    const deadline = performance.now() + SNAPSHOT_WAIT_MS;
    try {
      while ((await client.snapshot(TOPIC)).length === 0) {
        if (performance.now() > deadline) throw new Error(`the snapshot role did not hold ${TOPIC} within ${SNAPSHOT_WAIT_MS} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      client.close();
    }
  }
}
