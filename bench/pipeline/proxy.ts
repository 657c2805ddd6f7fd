/** Child program: the proxy under test, startProxy from src/proxy, on ephemeral loopback ports. */
import { createLogger } from '../../src/log/index.js';
import { startProxy } from '../../src/proxy/index.js';
import { childOptions, emit, measureCpu, nextCommand, onShutdown, runChild } from './child.js';
import type { CpuReport, ProxyChildOptions } from './messages.js';

const LOOPBACK_ANY_PORT = 'tcp://127.0.0.1:*';

runChild(async () => {
  const { mode, hwm } = childOptions<ProxyChildOptions>();
  const proxy = await startProxy(
    { frontend: LOOPBACK_ANY_PORT, backend: LOOPBACK_ANY_PORT, frontendHwm: hwm, backendHwm: hwm, lingerMs: 0, mode },
    createLogger('silent'),
  );
  onShutdown(() => proxy.close());
  await emit({ type: 'ready', endpoints: [proxy.frontendEndpoint, proxy.backendEndpoint] });

  const { window } = await nextCommand('window');
  await emit<CpuReport>({ type: 'result', report: await measureCpu(window) });
});
