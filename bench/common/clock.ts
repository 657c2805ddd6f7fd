/** The shared nowMicros() clock, in the parent and the children alike, and this process's CPU over stretches of it. */
import { setTimeout as sleep } from 'node:timers/promises';
import { nowMicros } from '../../src/wire/index.js';

/**
 * A measurement window in nowMicros() time. Every process reads the same system clock, so a
 * receiver tells a measured message from a warm-up one by its header ts alone.
 */
export interface Window {
  readonly startMicros: number;
  readonly endMicros: number;
}

/** A window of `seconds` opening `warmupSeconds` from now. */
export function windowAfter(warmupSeconds: number, seconds: number): Window {
  const startMicros = nowMicros() + Math.round(warmupSeconds * 1e6);
  return { startMicros, endMicros: startMicros + Math.round(seconds * 1e6) };
}

export async function sleepUntil(micros: number): Promise<void> {
  const ms = (micros - nowMicros()) / 1000;
  if (ms > 0) await sleep(ms);
}

export interface CpuReport {
  /** User + system CPU time over the window, as % of one core (above 100 with busy threads). */
  readonly cpuPercent: number;
}

/** CPU time of this process since the meter was made, as % of one core. */
export class CpuMeter {
  private readonly cpu = process.cpuUsage();
  private readonly wall = performance.now();

  percent(): number {
    const used = process.cpuUsage(this.cpu);
    // Measured wall time, not a nominal one: a timer may fire late on a loaded machine.
    const wallMicros = (performance.now() - this.wall) * 1000;
    return wallMicros > 0 ? (100 * (used.user + used.system)) / wallMicros : 0;
  }
}

/** The CPU time this process spends during the window; resolves when the window has ended. */
export async function cpuOverWindow(window: Window): Promise<CpuReport> {
  await sleepUntil(window.startMicros);
  const meter = new CpuMeter();
  await sleepUntil(window.endMicros);
  return { cpuPercent: meter.percent() };
}
