import { schema } from '../../src/config/schema.js';
import { freePort } from '../client-ws/helpers.js';

/**
 * The gateway's subscription gauge (issue 5, PROTOCOL.md section 6). Until the service has
 * a metrics port (config `metrics.port`), metricsEnv gives no port and tests say they skip
 * the gauge; once it has one, they check it.
 */
export async function metricsEnv(): Promise<{ port: number | undefined; env: Record<string, string> }> {
  if (!('metrics' in schema)) return { port: undefined, env: {} };
  const port = await freePort();
  return { port, env: { TICKFAN_METRICS_PORT: String(port) } };
}

/** tickfan_gateway_subscriptions from GET /metrics: the sum of its samples (labelled or not). */
export async function gatewaySubscriptions(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  const samples = (await response.text()).split('\n').filter((line) => /^tickfan_gateway_subscriptions(\{.*\})? /.test(line));
  if (samples.length === 0) throw new Error('GET /metrics has no tickfan_gateway_subscriptions');
  return samples.reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}
