/**
 * The proxy's forwarded counter in each mode, on real sockets over loopback: the dashboard
 * says proxy.mode js exports it and native cannot (zeromq.js's Proxy gives no count).
 */
import test from 'ava';
import { Registry } from 'prom-client';
import { Subscriber, XPublisher } from 'zeromq';
import { TEST_SOCKETS } from '../helpers/sockets.js';
import { createLogger } from '../../src/log/index.js';
import { startProxy, type ForwardingMode } from '../../src/proxy/proxy.js';
import { registerProxyMetrics } from '../../src/proxy/metrics.js';

const log = createLogger('silent');
const MESSAGES = 100;
const FORWARDED = 'tickfan_proxy_messages_forwarded_total';

/** Sends MESSAGES through a proxy in `mode` and returns the proxy's metrics text afterwards. */
async function metricsAfterTraffic(mode: ForwardingMode): Promise<string> {
  const proxy = await startProxy({ frontend: 'tcp://127.0.0.1:*', backend: 'tcp://127.0.0.1:*', frontendHwm: 1000, backendHwm: 1000, socket: TEST_SOCKETS, mode }, log);
  const registry = new Registry();
  registerProxyMetrics(registry, proxy);
  // An XPUB publisher hears the subscription arrive through the proxy, so nothing sent after is lost to the slow joiner.
  const publisher = new XPublisher({ linger: 0 });
  const subscriber = new Subscriber({ linger: 0 });
  try {
    publisher.connect(proxy.frontendEndpoint);
    subscriber.connect(proxy.backendEndpoint);
    subscriber.subscribe('t');
    await publisher.receive();
    for (let i = 0; i < MESSAGES; i++) await publisher.send(['t', String(i)]);
    for (let i = 0; i < MESSAGES; i++) await subscriber.receive();
    return await registry.metrics();
  } finally {
    publisher.close();
    subscriber.close();
    await proxy.close();
  }
}

test('proxy.mode js exports tickfan_proxy_messages_forwarded_total, counting every message it forwarded', async (t) => {
  t.regex(await metricsAfterTraffic('js'), new RegExp(`^${FORWARDED} ${MESSAGES}$`, 'm'));
});

test('proxy.mode native exports no tickfan_proxy_messages_forwarded_total (rather than a count stuck at zero)', async (t) => {
  const text = await metricsAfterTraffic('native');
  t.notRegex(text, new RegExp(FORWARDED));
  t.regex(text, /^tickfan_proxy_subscribers /m, 'the proxy metrics are registered');
});
