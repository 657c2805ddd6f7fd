import type { Registry } from 'prom-client';
import { counterOf, gaugeOf } from '../metrics/index.js';
import type { RunningProxy } from './proxy.js';

/**
 * The proxy's metrics. Messages forwarded only in js mode: native forwarding happens inside
 * libzmq with no count reachable from JavaScript, and a counter stuck at zero would lie.
 */
export function registerProxyMetrics(registry: Registry, proxy: RunningProxy): void {
  gaugeOf(registry, 'tickfan_proxy_subscribers', 'Subscriber connections on the proxy backend (XPUB).', () => proxy.peers().subscribers);
  gaugeOf(registry, 'tickfan_proxy_publishers', 'Publisher connections on the proxy frontend (XSUB).', () => proxy.peers().publishers);
  if (proxy.forwarded() !== undefined) {
    counterOf(registry, 'tickfan_proxy_messages_forwarded_total', 'Messages the proxy forwarded downstream (proxy.mode js).', () => proxy.forwarded() ?? 0);
  }
}
