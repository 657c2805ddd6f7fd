import { freePort } from '../client-ws/helpers.js';

/** A free metrics port for the tickfan under test, and the environment that sets it. */
export async function metricsEnv(): Promise<{ port: number; env: Record<string, string> }> {
  const port = await freePort();
  return { port, env: { TICKFAN_METRICS_PORT: String(port) } };
}

/** tickfan_gateway_subscriptions from GET /metrics (PROTOCOL.md section 6). */
export async function gatewaySubscriptions(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  const sample = (await response.text()).split('\n').find((line) => line.startsWith('tickfan_gateway_subscriptions '));
  if (sample === undefined) throw new Error('GET /metrics has no tickfan_gateway_subscriptions');
  return Number(sample.slice(sample.lastIndexOf(' ') + 1));
}
