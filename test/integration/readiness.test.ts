/**
 * PROTOCOL.md section 6 as an operator sees it: each `tickfan start` process answers /healthz
 * at once, and /readyz only when its roles can work; a gateway needs the proxy connected and a
 * snapshot service answering PING.
 */
import test from 'ava';
import { ipcDir, privateFabricEnv, TickfanProcess } from '../helpers/tickfan-process.js';
import { pollUntil } from '../helpers/poll.js';

async function metricsUrl(proc: TickfanProcess): Promise<string> {
  return `http://127.0.0.1:${String((await proc.waitForLog('metrics listening')).port)}`;
}

const status = async (url: string): Promise<{ code: number; body: string }> => {
  const response = await fetch(url);
  return { code: response.status, body: await response.text() };
};

test('a gateway alone is alive but not ready, naming itself; it turns ready once the proxy and a snapshot service are up', async (t) => {
  const dir = ipcDir();
  const env = { ...privateFabricEnv(dir), TICKFAN_CONNECT_SNAPSHOT_TIMEOUT_MS: '300' };
  const processes: TickfanProcess[] = [];
  t.teardown(() => {
    processes.forEach((p) => p.kill());
    dir.cleanup();
  });
  const gateway = new TickfanProcess(['start', '--roles', 'gateway'], env);
  processes.push(gateway);
  const gatewayMetrics = await metricsUrl(gateway);
  t.deepEqual(await status(`${gatewayMetrics}/healthz`), { code: 200, body: 'ok\n' });
  t.deepEqual(await status(`${gatewayMetrics}/readyz`), { code: 503, body: 'not ready: gateway\n' });

  const fabric = new TickfanProcess(['start', '--roles', 'proxy,snapshot'], env);
  processes.push(fabric);
  const fabricMetrics = await metricsUrl(fabric);
  await fabric.waitForLog('tickfan started');
  t.deepEqual(await status(`${fabricMetrics}/readyz`), { code: 200, body: 'ready\n' }, 'bound: ready');
  // The gateway's ZeroMQ sockets reconnect on their own schedule: nothing to wait on but the endpoint.
  await pollUntil(async () => (await status(`${gatewayMetrics}/readyz`)).code === 200, 'the gateway to turn ready', 15_000);
  t.deepEqual(await status(`${gatewayMetrics}/readyz`), { code: 200, body: 'ready\n' });

  await fabric.stop();
  await pollUntil(async () => (await status(`${gatewayMetrics}/readyz`)).code === 503, 'the gateway to turn not ready', 15_000);
  t.pass('not ready again once the proxy and snapshot service are gone');
});
