/** Reading the gateway's metrics endpoint (Prometheus text format). */

/** nodejs_heap_size_used_bytes from a /metrics answer; throws when it is missing. */
export function heapUsedBytes(metricsText: string): number {
  const match = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)$/m.exec(metricsText);
  if (match === null) throw new Error('the metrics answer has no nodejs_heap_size_used_bytes line');
  return Number(match[1]);
}
