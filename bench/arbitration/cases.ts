/** The arbitration bench's cases: how many lines, what each loses and how far it lags, and the window. */
import { DEFAULT_ARBITRATION_MS } from '../../src/client/zmq/index.js';
import type { LineFault } from './source.js';

export interface Case {
  readonly name: string;
  /** One entry per line; a single line is read as it is, without an arbiter (the baseline). */
  readonly lines: readonly LineFault[];
  /** Share of messages lost on every line. */
  readonly commonLoss: number;
  readonly arbitrationMs: number;
}

export interface CaseSettings {
  /** Share of messages line A alone loses in the one-line-loss case. */
  readonly oneLineLoss: number;
  /** How far line B lags in that case. */
  readonly lagMs: number;
  /** Share of messages both lines lose in the real-loss cases. */
  readonly commonLoss: number;
  /** The arbitration windows the real loss is run with. */
  readonly windowsMs: readonly number[];
}

const HEALTHY: LineFault = { loss: 0, lagMs: 0 };

/** In run order; the first is the baseline the others are compared with. */
export function casesOf(settings: CaseSettings): Case[] {
  const { oneLineLoss, lagMs, commonLoss, windowsMs } = settings;
  return [
    { name: '1 line (no arbiter)', lines: [HEALTHY], commonLoss: 0, arbitrationMs: DEFAULT_ARBITRATION_MS },
    { name: `2 lines, no loss, window ${DEFAULT_ARBITRATION_MS} ms`, lines: [HEALTHY, HEALTHY], commonLoss: 0, arbitrationMs: DEFAULT_ARBITRATION_MS },
    {
      name: `A loses ${percent(oneLineLoss)}, B ${lagMs} ms behind, window ${DEFAULT_ARBITRATION_MS} ms`,
      lines: [{ loss: oneLineLoss, lagMs: 0 }, { loss: 0, lagMs }],
      commonLoss: 0,
      arbitrationMs: DEFAULT_ARBITRATION_MS,
    },
    ...windowsMs.map((arbitrationMs) => ({
      name: `both lose the same ${percent(commonLoss)}, window ${arbitrationMs} ms`,
      lines: [HEALTHY, HEALTHY],
      commonLoss,
      arbitrationMs,
    })),
  ];
}

function percent(share: number): string {
  return `${+(share * 100).toPrecision(3)}%`;
}
