import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordedLine } from '../../src/feeds/replay/index.js';
import type { TickRecord } from '../../src/wire/index.js';

export const T0 = 1_764_070_000_000_000;

export function tick(n: number, venue = 'RP'): TickRecord {
  return { venue, symbol: 'X', bid: n / 10, ask: n / 10 + 0.1, exchTs: T0 + n };
}

/** A recording of `count` ticks `stepMs` apart, as `tickfan record` writes it. */
export function recording(count: number, stepMs: number, venue = 'RP'): string {
  return Array.from({ length: count }, (_, i) => recordedLine({ topic: `tick.${venue}.X`, epoch: 7, seq: i + 1, ts: T0 + i * stepMs * 1000, record: tick(i, venue) })).join('');
}

export function fileWith(name: string, text: string): { file: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tickfan-replay-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

