/** tickfan CLI processes on private ipc endpoints, as the integration tests and bench/fanout start them. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/tickfan.js', import.meta.url));

export interface TickfanProcessOptions {
  /**
   * A command that runs the process, e.g. `ip netns exec NS` to start it on another network
   * host; it must exec the program in place, so the process's pid (and signals) stay node's.
   */
  readonly launcher?: readonly string[];
  /** Options of node itself, before the program (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  readonly nodeArgs?: readonly string[];
  /** The tickfan program to run: by default this checkout's; another checkout's to compare builds. */
  readonly bin?: string;
}

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A `tickfan` CLI process with its JSON log lines on stderr and its stdout lines. */
export class TickfanProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  readonly stdoutLines: string[] = [];
  readonly stderrText: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters: { match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  private readonly stdoutWaiters: { count: number; resolve: () => void }[] = [];
  private readonly bin: string;

  constructor(args: readonly string[], env: Record<string, string> = {}, { launcher = [], nodeArgs = [], bin = BIN }: TickfanProcessOptions = {}) {
    this.bin = bin;
    const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TICKFAN_')));
    const [command = process.execPath, ...argv] = [...launcher, process.execPath, ...nodeArgs, bin, ...args];
    // A free metrics port unless the test picks one: processes run side by side and 9464 is one port.
    this.child = spawn(command, argv, { env: { ...cleanEnv, TICKFAN_METRICS_PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    // 'close' rather than 'exit': it comes after stdout and stderr have delivered their last lines.
    this.exited = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal })));
    createInterface({ input: this.child.stderr! }).on('line', (text) => this.onStderr(text));
    createInterface({ input: this.child.stdout! }).on('line', (text) => this.onStdout(text));
  }

  /** Resolves with the first log line (already seen or future) whose msg is `msg` and that passes `match`. */
  waitForLog(msg: string, match: (line: LogLine) => boolean = () => true, timeoutMs = 15_000): Promise<LogLine> {
    const test = (line: LogLine) => line.msg === msg && match(line);
    const seen = this.logs.find(test);
    if (seen) return Promise.resolve(seen);
    const what = () => `log "${msg}" from ${this.describe()}; stderr so far:\n${this.stderrText.join('\n')}`;
    const found = new Promise<LogLine>((resolve) => this.waiters.push({ match: test, resolve }));
    const exitedFirst = this.exited.then(({ code }) => Promise.reject(new Error(`exited with code ${code} before ${what()}`)));
    return withTimeout(Promise.race([found, exitedFirst]), timeoutMs, what());
  }

  /** Resolves once `count` lines have appeared on stdout. */
  waitForStdoutLines(count: number, timeoutMs = 15_000): Promise<void> {
    if (this.stdoutLines.length >= count) return Promise.resolve();
    return withTimeout(new Promise<void>((resolve) => this.stdoutWaiters.push({ count, resolve })), timeoutMs, `${count} stdout lines`);
  }

  /** Sends a signal and resolves with the exit and how long it took (a gateway's SIGTERM takes its drain window: pass a longer timeout). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<{ code: number | null; elapsedMs: number }> {
    const started = performance.now();
    this.child.kill(signal);
    const { code } = await withTimeout(this.exited, timeoutMs, `exit after ${signal}`);
    return { code, elapsedMs: performance.now() - started };
  }

  /** `tickfan` and its arguments, for messages. */
  describe(): string {
    const args = this.child.spawnargs;
    return `tickfan ${args.slice(args.indexOf(this.bin) + 1).join(' ')}`;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private onStderr(text: string): void {
    this.stderrText.push(text);
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return;
    }
    this.logs.push(line);
    for (const waiter of [...this.waiters]) {
      if (waiter.match(line)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  }

  private onStdout(text: string): void {
    this.stdoutLines.push(text);
    for (const waiter of [...this.stdoutWaiters]) {
      if (this.stdoutLines.length >= waiter.count) {
        this.stdoutWaiters.splice(this.stdoutWaiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }
}

/** Runs a tickfan command to completion and returns its exit code and output. */
export async function runTickfan(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = new TickfanProcess(args, env);
  const { code } = await withTimeout(proc.exited, 15_000, `tickfan ${args.join(' ')} to exit`).finally(() => proc.kill());
  return { code, stdout: proc.stdoutLines.join('\n'), stderr: proc.stderrText.join('\n') };
}

/** A private directory for ipc:// endpoints; removed by the returned cleanup. */
export function ipcDir(): { endpoint(name: string): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tickfan-test-'));
  return { endpoint: (name) => `ipc://${join(dir, name)}`, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Settings that put every role of a tickfan on private ipc endpoints in `dir`, with no
 * snapshot file and a free gateway port, so tests run side by side without clashing.
 */
export function privateFabricEnv(dir: ReturnType<typeof ipcDir>) {
  return {
    TICKFAN_PROXY_FRONTEND: dir.endpoint('frontend'),
    TICKFAN_PROXY_BACKEND: dir.endpoint('backend'),
    TICKFAN_CONNECT_FRONTEND: dir.endpoint('frontend'),
    TICKFAN_CONNECT_BACKEND: dir.endpoint('backend'),
    TICKFAN_SNAPSHOT_ENDPOINT: dir.endpoint('snapshot'),
    TICKFAN_CONNECT_SNAPSHOT: dir.endpoint('snapshot'),
    TICKFAN_SNAPSHOT_PERSIST_FILE: '',
    TICKFAN_GATEWAY_PORT: '0',
    TICKFAN_FEEDS_INGEST_ENDPOINT: dir.endpoint('ingest'),
  };
}
