/**
 * Microseconds since the Unix epoch. Date.now() has only millisecond resolution, too coarse
 * for loopback latencies of tens of microseconds, so the wall clock at process start is
 * extended with the monotonic clock.
 */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}
