/**
 * The pace of a drain (PROTOCOL.md section 5): n clients closed evenly over a window, the k-th
 * (from 0) at window * k / n, so the first goes at once and the last a slot before the end,
 * leaving that slot for its closing handshake. Clients then reconnect spread as they were closed.
 */

/** Timers closer than this are merged into one slice: at thousands of clients a timer per close would cost more than the closes. */
export const MIN_SLICE_MS = 10;

/** How many of `count` items are due `elapsedMs` into a window of `windowMs` (all of them when the window is 0). */
export function dueCount(count: number, elapsedMs: number, windowMs: number): number {
  if (windowMs <= 0 || elapsedMs >= windowMs) return count;
  let due = Math.min(count, Math.floor((Math.max(elapsedMs, 0) * count) / windowMs) + 1);
  // The division can round an item due exactly now to just short of it; dueAt is the measure.
  if (due < count && dueAt(due, count, windowMs) <= elapsedMs) due++;
  return due;
}

/** When the `index`-th of `count` items is due, ms into the window. */
export function dueAt(index: number, count: number, windowMs: number): number {
  return (windowMs * index) / count;
}

/** A spread in progress: `stop()` leaves what is not done yet; `finish()` does all of it now (the window is over, whatever the timers managed). */
export interface Spread {
  stop(): void;
  finish(): void;
}

/**
 * Calls `act` on each item in order, spread evenly over `windowMs` from now (the first at once),
 * in slices at least MIN_SLICE_MS apart.
 */
export function spreadEvenly<T>(items: readonly T[], windowMs: number, act: (item: T) => void): Spread {
  const started = performance.now();
  let next = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const slice = (): void => {
    timer = undefined;
    const elapsed = performance.now() - started;
    const due = dueCount(items.length, elapsed, windowMs);
    while (next < due) act(items[next++]!);
    if (next < items.length) timer = setTimeout(slice, Math.max(MIN_SLICE_MS, dueAt(next, items.length, windowMs) - elapsed));
  };
  slice();
  return {
    stop: () => clearTimeout(timer),
    finish: () => {
      clearTimeout(timer);
      while (next < items.length) act(items[next++]!);
    },
  };
}
