import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * prom-client's default metrics that `promtool check metrics` rejects (gauges named like
 * counters, `_total`), left out.
 */
const REJECTED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** One registry per process: the default process metrics (CPU, RSS, heap, GC, event-loop lag) and every role's. */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of REJECTED_DEFAULTS) registry.removeSingleMetric(name);
  return registry;
}
