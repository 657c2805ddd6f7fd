/**
 * Exponential backoff with jitter, shared by the SDK's reconnects and the feeds' restarts
 * and reconnects. Browser-safe like everything in src/util: no Node import.
 */

export interface BackoffOptions {
  /** Base delay of the first attempt, ms. */
  readonly minDelayMs: number;
  /** Largest base delay, ms. */
  readonly maxDelayMs: number;
  /** Share of the base delay taken off at random, 0..1: 0 = no jitter, 1 = "full jitter". */
  readonly jitter: number;
}

/** The base delay of attempt `attempt` (1, 2, ...): min * 2^(attempt-1), at most max. */
export function baseDelay(attempt: number, options: BackoffOptions): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  return Math.min(options.maxDelayMs, options.minDelayMs * 2 ** exponent);
}

/**
 * The delay before attempt `attempt`: exponential backoff with jitter, drawn from
 * [base * (1 - jitter), base], so peers dropped together do not come back together.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const base = baseDelay(attempt, options);
  return Math.round(base * (1 - options.jitter * random()));
}
