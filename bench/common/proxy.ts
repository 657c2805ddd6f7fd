/** Child program of the pipeline and snapshot benchmarks: the proxy, startProxy from src/proxy, on ephemeral loopback ports. */
import { FabricSecurity, type CurveSettings } from '../../src/curve/index.js';
import { createLogger } from '../../src/log/index.js';
import { startProxy, type RunningProxy } from '../../src/proxy/index.js';
import { serve } from './child.js';
import { BENCH_SOCKETS } from './sockets.js';
import { cpuOverWindow, type CpuReport, type Window } from './clock.js';

const LOOPBACK_ANY_PORT = 'tcp://127.0.0.1:*';

let proxy: RunningProxy | undefined;
let security = FabricSecurity.PLAIN;

const methods = {
  /** With curve, both sockets are CURVE servers behind this process's ZAP handler, as in the proxy role. */
  async start(params: { mode: 'native' | 'js'; hwm: number; curve?: CurveSettings }): Promise<{ frontend: string; backend: string }> {
    if (proxy !== undefined) throw new Error('the proxy is already started');
    const log = createLogger('warn');
    if (params.curve !== undefined) security = FabricSecurity.open(params.curve, log);
    proxy = await startProxy(
      { frontend: LOOPBACK_ANY_PORT, backend: LOOPBACK_ANY_PORT, frontendHwm: params.hwm, backendHwm: params.hwm, socket: BENCH_SOCKETS, mode: params.mode },
      log,
      security,
    );
    return { frontend: proxy.frontendEndpoint, backend: proxy.backendEndpoint };
  },

  /** This process's CPU over the window; resolves once it has ended. */
  async measure(params: { window: Window }): Promise<CpuReport> {
    return cpuOverWindow(params.window);
  },
};

export type ProxyMethods = typeof methods;

serve(methods, async () => {
  await proxy?.close();
  await security.close();
});
