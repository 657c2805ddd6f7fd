/** What every child program shares: options, the IPC inbox, CPU accounting and a clean exit. */
import { setTimeout as sleep } from 'node:timers/promises';
import { processCpuPercent } from './clock.js';
import type { Command, CpuReport, Event, Window } from './messages.js';

/** Shutdown steps (closing sockets) get this long before the process exits regardless. */
const SHUTDOWN_MS = 2_000;

const inbox: Command[] = [];
const waiting = new Set<() => void>();
const shutdownSteps: (() => unknown)[] = [];
let shuttingDown = false;

process.on('message', (command: Command) => {
  if (command.type === 'stop') {
    void shutdown(0);
    return;
  }
  inbox.push(command);
  for (const wake of waiting) wake();
});
// An orphaned child (the parent crashed or was killed) must not keep running.
process.on('disconnect', () => void shutdown(0));

export function childOptions<T>(): T {
  const json = process.argv[2];
  if (json === undefined) throw new Error('usage: node --import=tsx <child>.ts <options JSON>');
  return JSON.parse(json) as T;
}

export function emit<R>(event: Event<R>): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) return resolve();
    process.send!(event, undefined, {}, () => resolve());
  });
}

/** Waits for the parent's next command of this type (the parent bounds how long it waits for us). */
export async function nextCommand<T extends Command['type']>(type: T): Promise<Extract<Command, { type: T }>> {
  for (;;) {
    const index = inbox.findIndex((command) => command.type === type);
    if (index >= 0) return inbox.splice(index, 1)[0] as Extract<Command, { type: T }>;
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        waiting.delete(wake);
        resolve();
      };
      waiting.add(wake);
    });
  }
}

export function onShutdown(step: () => unknown): void {
  shutdownSteps.push(step);
}

/**
 * Runs a child program. A failure is reported to the parent rather than lost in stderr;
 * after a success the child stays up (its sockets may still hold messages in flight)
 * until the parent says stop.
 */
export function runChild(body: () => Promise<void>): void {
  body().catch(async (err: unknown) => {
    await emit({ type: 'failed', error: err instanceof Error ? err.stack ?? err.message : String(err) });
    await shutdown(1);
  });
}

export async function measureCpu(window: Window): Promise<CpuReport> {
  return { cpuPercent: await processCpuPercent(window) };
}

async function shutdown(code: number): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  const steps = Promise.allSettled(shutdownSteps.map(async (step) => step()));
  await Promise.race([steps, sleep(SHUTDOWN_MS)]);
  process.exit(code);
}
