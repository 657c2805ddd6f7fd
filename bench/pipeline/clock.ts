/** Waiting for points of the shared nowMicros() clock, in the parent and the children alike. */
import { setTimeout as sleep } from 'node:timers/promises';
import { nowMicros } from '../../src/wire/index.js';
import type { Window } from './messages.js';

export async function sleepUntil(micros: number): Promise<void> {
  const ms = (micros - nowMicros()) / 1000;
  if (ms > 0) await sleep(ms);
}

/** CPU time this process spends during the window, as % of one core. */
export async function processCpuPercent(window: Window): Promise<number> {
  await sleepUntil(window.startMicros);
  const cpuAtStart = process.cpuUsage();
  const wallAtStart = nowMicros();
  await sleepUntil(window.endMicros);
  const used = process.cpuUsage(cpuAtStart);
  // Measured wall time, not the nominal window: a timer may fire late on a loaded machine.
  return (100 * (used.user + used.system)) / (nowMicros() - wallAtStart);
}
