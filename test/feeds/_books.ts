/**
 * Whether periodic snapshots came at `intervalMs`: none much early, and on average close to it. A
 * loaded machine delays timers, so one late period is no failure; a schedule that drifts is.
 */
export function onTime(periodsMs: readonly number[], intervalMs: number): boolean {
  const mean = periodsMs.reduce((sum, ms) => sum + ms, 0) / periodsMs.length;
  return periodsMs.every((ms) => ms >= intervalMs * 0.5) && mean >= intervalMs * 0.75 && mean <= intervalMs * 3;
}
