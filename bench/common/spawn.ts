/** The parent's handle on one child program: typed calls with deadlines, and a guaranteed exit. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Methods, ParamsOf, Request, Response, ResultOf } from './rpc.js';

/** How much of a child's output is kept to explain its failure. */
const OUTPUT_TAIL_BYTES = 2_000;
/** Starting a child includes tsx compiling it; generous, since the machine may be busy. */
const STARTUP_MS = 30_000;

/** Every child started, so that all of them can be killed whatever happens to the parent. */
const everyChild = new Set<ChildProcess>();
let exitHooked = false;

function hookParentExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  // Synchronous last resort: no child may outlive the benchmark.
  process.on('exit', () => {
    for (const child of everyChild) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      for (const child of everyChild) child.kill('SIGKILL');
      process.exit(130);
    });
  }
}

let reportDeath: (err: Error) => void = () => {};
/** Rejects as soon as any child exits without having been asked to, so the run fails fast instead of timing out. */
export const childDied = new Promise<never>((_, reject) => {
  reportDeath = reject;
});
// Only a failure for whoever races it.
childDied.catch(() => undefined);

interface Pending {
  readonly method: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class Child<M extends Methods> {
  private readonly process: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private readonly hello: Promise<void>;
  private nextId = 1;
  private outputTail = '';
  private exit: string | undefined;
  private stopping = false;

  constructor(
    /** The child program's source file. */
    program: URL,
    /** Names the child in messages. */
    readonly label: string,
    /**
     * A command that runs the child, e.g. `ip netns exec NS` for another network host; it must
     * exec node in place and pass the IPC channel's descriptor on, as `ip netns exec` does.
     */
    launcher: readonly string[] = [],
  ) {
    hookParentExit();
    const file = fileURLToPath(program);
    const [command = process.execPath, ...args] = [...launcher, process.execPath, '--import=tsx', file];
    this.process = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    everyChild.add(this.process);
    const keepTail = (chunk: Buffer): void => {
      this.outputTail = (this.outputTail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
    };
    this.process.stdout!.on('data', keepTail);
    this.process.stderr!.on('data', keepTail);
    let helloArrived!: () => void;
    this.hello = new Promise((resolve) => (helloArrived = resolve));
    this.process.on('message', (response: Response) => {
      if (response.type === 'hello') return helloArrived();
      const call = this.pending.get(response.id);
      if (call === undefined) return;
      this.pending.delete(response.id);
      clearTimeout(call.timer);
      if (response.type === 'result') call.resolve(response.result);
      else call.reject(new Error(`${this.label}.${call.method} failed: ${response.error}`));
    });
    const ended = (what: string): void => {
      if (this.exit === undefined && !this.stopping) reportDeath(new Error(`${this.label} exited unexpectedly (${what})${this.outputHint()}`));
      this.exit ??= what;
      everyChild.delete(this.process);
      for (const [id, call] of this.pending) {
        this.pending.delete(id);
        clearTimeout(call.timer);
        call.reject(new Error(`${this.label} exited (${what}) during ${call.method}${this.outputHint()}`));
      }
    };
    this.process.on('exit', (code, signal) => ended(signal ?? `code ${code}`));
    this.process.on('error', (err) => ended(`spawn error: ${err.message}`));
  }

  /** The child's process id, for reading its CPU time from outside. */
  get pid(): number | undefined {
    return this.process.pid;
  }

  /** Resolves once the child listens for calls; throws when it dies or stays silent too long. */
  async started(): Promise<this> {
    if (this.exit !== undefined) throw new Error(`${this.label} exited (${this.exit}) while starting${this.outputHint()}`);
    const died = once(this.process, 'exit').then(() => {
      throw new Error(`${this.label} exited (${this.exit}) while starting${this.outputHint()}`);
    });
    const late = sleep(STARTUP_MS, undefined, { ref: false }).then(() => {
      throw new Error(`${this.label} did not start within ${STARTUP_MS} ms${this.outputHint()}`);
    });
    await Promise.race([this.hello, died, late]);
    return this;
  }

  /** Calls a method of the child; rejects when it fails, exits or takes longer than timeoutMs. */
  call<K extends keyof M & string>(method: K, params: ParamsOf<M, K>, timeoutMs: number): Promise<ResultOf<M, K>> {
    if (this.exit !== undefined) return Promise.reject(new Error(`${this.label} has exited (${this.exit}); cannot call ${method}${this.outputHint()}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.label}.${method} took longer than ${timeoutMs} ms${this.outputHint()}`));
      }, timeoutMs);
      this.pending.set(id, { method, resolve: resolve as (value: unknown) => void, reject, timer });
      this.process.send({ type: 'call', id, method, params } satisfies Request);
    });
  }

  /** Asks the child to exit and kills it if it has not within timeoutMs. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    if (this.exit !== undefined) return;
    const exited = once(this.process, 'exit');
    if (this.process.connected) this.process.send({ type: 'exit' } satisfies Request);
    const timer = setTimeout(() => this.process.kill('SIGKILL'), timeoutMs);
    // Bounded even if no 'exit' ever comes.
    await Promise.race([exited, sleep(timeoutMs + 1_000, undefined, { ref: false })]);
    clearTimeout(timer);
  }

  private outputHint(): string {
    const tail = this.outputTail.trim();
    return tail ? `; its output ends with:\n${tail}` : '';
  }
}
