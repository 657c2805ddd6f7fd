/** Child program: the proxy, startProxy from src/proxy in native mode, on ephemeral loopback ports. */
import { createLogger } from '../../src/log/index.js';
import { startProxy, type RunningProxy } from '../../src/proxy/index.js';
import { serve } from '../common/child.js';

const LOOPBACK_ANY_PORT = 'tcp://127.0.0.1:*';

let proxy: RunningProxy | undefined;

const methods = {
  /** Binds both sides; the HWMs are the shipped defaults (config/default.json). */
  async start(params: { hwm: number }): Promise<{ frontend: string; backend: string }> {
    proxy = await startProxy(
      { frontend: LOOPBACK_ANY_PORT, backend: LOOPBACK_ANY_PORT, frontendHwm: params.hwm, backendHwm: params.hwm, lingerMs: 0, mode: 'native' },
      createLogger('warn'),
    );
    return { frontend: proxy.frontendEndpoint, backend: proxy.backendEndpoint };
  },
};

export type ProxyMethods = typeof methods;

serve(methods, () => proxy?.close());
