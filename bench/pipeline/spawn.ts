/** The parent's handle on one child program: typed IPC, bounded waits, a guaranteed exit. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Command, Event } from './messages.js';

/** How much of a child's stderr is kept to explain its failure. */
const STDERR_TAIL_BYTES = 2_000;

export type Program = 'publisher' | 'proxy' | 'subscriber';

export class Child<R> {
  private readonly process: ChildProcess;
  private readonly events: Event<R>[] = [];
  private readonly waiting = new Set<() => void>();
  private stderrTail = '';
  private exit: string | undefined;

  constructor(
    readonly program: Program,
    options: object,
  ) {
    const file = fileURLToPath(new URL(`./${program}.ts`, import.meta.url));
    this.process = spawn(process.execPath, ['--import=tsx', file, JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const keepTail = (chunk: Buffer): void => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    };
    this.process.stdout!.on('data', keepTail);
    this.process.stderr!.on('data', keepTail);
    this.process.on('message', (event: Event<R>) => this.arrived(event));
    this.process.on('exit', (code, signal) => {
      this.exit = signal ?? `code ${code}`;
      this.wakeAll();
    });
    this.process.on('error', (err) => {
      this.exit = `spawn error: ${err.message}`;
      this.wakeAll();
    });
  }

  send(command: Command): void {
    if (this.process.connected) this.process.send(command);
  }

  /** The child's next event of this type; throws when it fails, exits or stays silent too long. */
  async next<T extends Event<R>['type']>(type: T, timeoutMs: number): Promise<Extract<Event<R>, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.events.findIndex((event) => event.type === type || event.type === 'failed');
      if (index >= 0) {
        const event = this.events.splice(index, 1)[0]!;
        if (event.type === 'failed') throw new Error(`${this.program} failed: ${event.error}`);
        return event as Extract<Event<R>, { type: T }>;
      }
      if (this.exit !== undefined) throw new Error(`${this.program} exited (${this.exit}) before '${type}'${this.stderrHint()}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`${this.program} sent no '${type}' within ${timeoutMs} ms${this.stderrHint()}`);
      await this.changed(remaining);
    }
  }

  /** Asks the child to stop and kills it if it has not exited within timeoutMs. */
  async stop(timeoutMs: number): Promise<void> {
    if (this.exit !== undefined) return;
    const exited = once(this.process, 'exit');
    this.send({ type: 'stop' });
    const timer = setTimeout(() => this.process.kill('SIGKILL'), timeoutMs);
    // Bounded even if no 'exit' ever comes (a failed spawn emits only 'error').
    await Promise.race([exited, sleep(timeoutMs + 1_000, undefined, { ref: false })]);
    clearTimeout(timer);
  }

  private arrived(event: Event<R>): void {
    this.events.push(event);
    this.wakeAll();
  }

  private changed(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.waiting.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      this.waiting.add(wake);
    });
  }

  private wakeAll(): void {
    for (const wake of [...this.waiting]) wake();
  }

  private stderrHint(): string {
    const tail = this.stderrTail.trim();
    return tail ? `; its output ends with:\n${tail}` : '';
  }
}
