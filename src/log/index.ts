import { pino, type Logger } from 'pino';

/** Beyond this many kinds held, ThrottledWarning forgets those whose interval is over, then the first seen. */
const MAX_KINDS = 1000;

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * One JSON line per event on stderr, written synchronously so the last lines before an exit
 * are never lost and stdout stays free for command output (`tickfan tail`).
 */
export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
}

/**
 * Bad input can arrive at line rate; logging each instance would turn one broken peer into
 * a disk-filling log. This logs the first occurrence of each kind, then at most one line per
 * interval with how many were suppressed in between.
 */
export class ThrottledWarning {
  private readonly lastLogged = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 10_000,
  ) {}

  /** Logs unless this kind was logged less than an interval ago; whether it did. */
  warn(kind: string, fields: Record<string, unknown>, message: string): boolean {
    const now = Date.now();
    const entry = this.lastLogged.get(kind);
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return false;
    }
    this.log.warn({ ...fields, kind, suppressed: entry?.suppressed ?? 0 }, message);
    this.lastLogged.set(kind, { at: now, suppressed: 0 });
    if (this.lastLogged.size > MAX_KINDS) this.forgetQuietKinds(now);
    return true;
  }

  /**
   * Kinds may come from peers (a refused key per attempt), so the ones past their interval go,
   * then, while still too many, those first seen longest ago (a forgotten kind that comes back
   * is logged again): the map stays bounded.
   */
  private forgetQuietKinds(now: number): void {
    for (const [kind, entry] of this.lastLogged) {
      if (now - entry.at >= this.intervalMs || this.lastLogged.size > MAX_KINDS) this.lastLogged.delete(kind);
    }
  }
}
