import type { Registry } from 'prom-client';
import { counterOf, countersBy } from '../metrics/index.js';
import type { FabricSecurity } from './fabric.js';
import { zapHandler } from './zap.js';

/** The fabric's CURVE metrics, once per process (one ZAP handler serves every role in it). */
export function registerCurveMetrics(registry: Registry, security: FabricSecurity): void {
  // The endpoint label is bounded: one series per server socket this process binds.
  countersBy(registry, 'tickfan_zap_denied_total', 'Peers refused by a CURVE server socket, by its endpoint: a key not in curve.publishers / curve.subscribers for it (ZAP), or no CURVE handshake at all (a plain peer, a wrong server key). A refused peer retries, so each attempt counts.', ['endpoint'],
    () => [...zapHandler.denied].map(([endpoint, count]) => [{ endpoint }, count] as const));
  counterOf(registry, 'tickfan_curve_key_reload_failures_total', 'Bad certificates left out, and unreadable certificate directories, met when reading curve.publishers or curve.subscribers again.', () => security.reloadFailures());
}
