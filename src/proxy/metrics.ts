import type { Registry } from 'prom-client';
import { counterOf, countersBy, gaugeOf, gaugesBy } from '../metrics/index.js';
import type { RunningProxy } from './proxy.js';

/**
 * The proxy's metrics. Messages forwarded only in js mode: native forwarding happens inside
 * libzmq with no count reachable from JavaScript, and a counter stuck at zero would lie.
 */
export function registerProxyMetrics(registry: Registry, proxy: RunningProxy): void {
  gaugeOf(registry, 'tickfan_proxy_subscribers', 'Subscriber connections on the proxy backend (XPUB).', () => proxy.peers().subscribers);
  gaugeOf(registry, 'tickfan_proxy_publishers', 'Publisher connections on the proxy frontend (XSUB), upstream proxies not included.', () => proxy.peers().publishers);
  // The endpoint label is bounded: one series per configured proxy.upstream entry.
  gaugesBy(registry, 'tickfan_proxy_upstream_connected', '1 while the frontend is connected to this upstream proxy (proxy.upstream), 0 otherwise.', ['endpoint'],
    () => proxy.upstreams().map(({ endpoint, connected }) => [{ endpoint }, connected ? 1 : 0] as const));
  countersBy(registry, 'tickfan_proxy_upstream_connects_total', 'Connections (ZMTP handshakes) made to this upstream proxy; more than one means it reconnected.', ['endpoint'],
    () => proxy.upstreams().map(({ endpoint, connects }) => [{ endpoint }, connects] as const));
  if (proxy.forwarded() !== undefined) {
    counterOf(registry, 'tickfan_proxy_messages_forwarded_total', 'Messages the proxy forwarded downstream (proxy.mode js).', () => proxy.forwarded() ?? 0);
  }
}
