import test from 'ava';
import { DEFAULT_INSTRUMENTS } from '../../src/feeds/simulated/index.js';
import { Fabric } from '../helpers/late-join.js';
import { reverseProxy } from './reverse-proxy.js';
import { launchChromium, openTicker, waitForConnection, waitForRows } from './ticker-page.js';

/**
 * The page behind a reverse proxy that serves the gateway under a path prefix: its files
 * and its WebSocket all go through the proxy, under the prefix.
 */
async function pageBehindProxy(t: import('ava').ExecutionContext, prefix: string, pageUrlPath: string, gatewayEnv: Record<string, string>) {
  const fabric = new Fabric({ TICKFAN_FEEDS_SIMULATED_RATE: '500', TICKFAN_GATEWAY_PORT: '0', ...gatewayEnv });
  const browser = await launchChromium();
  t.teardown(async () => {
    await browser.close();
    fabric.kill();
  });
  const tickfan = await fabric.start('proxy,snapshot,gateway,feed');
  const { port } = await tickfan.waitForLog('gateway listening');
  const proxy = await reverseProxy(prefix, port as number);
  t.teardown(() => proxy.close());
  const origin = `http://127.0.0.1:${proxy.port}`;
  const opened = await openTicker(browser, `${origin}${pageUrlPath}`);
  await waitForRows(opened.page, DEFAULT_INSTRUMENTS.length, 5_000);
  await waitForConnection(opened.page, 'live', 5_000);
  t.deepEqual(opened.errors, []);
  const under = `${origin}${prefix.replace(/\/$/, '')}`;
  t.deepEqual(opened.requests.filter((url) => !url.startsWith(under) && !url.startsWith('data:')), [], `every request goes through ${prefix}`);
  t.deepEqual(opened.sockets, [`${origin.replace(/^http/, 'ws')}${prefix}v1/ws`], 'the WebSocket goes through the proxy too');
  return { ...opened, origin };
}

test('behind a reverse proxy under /tickfan/, the page loads its files and opens its WebSocket under the prefix', async (t) => {
  const { framesReceived, origin, page } = await pageBehindProxy(t, '/tickfan/', '/tickfan/', {});
  t.true(framesReceived.length > 0, 'events came through the proxied WebSocket');
  t.is(await page.evaluate('document.baseURI'), `${origin}/tickfan/`, 'no base URL set: relative to the page');
});

test('with gateway.publicBaseUrl set, the page works even at the prefix without its trailing slash', async (t) => {
  // At /market (no slash) relative URLs would resolve against /: the base URL puts them under /market/.
  const { page, origin } = await pageBehindProxy(t, '/market/', '/market', { TICKFAN_GATEWAY_PUBLIC_BASE_URL: '/market/' });
  t.is(await page.evaluate('document.baseURI'), `${origin}/market/`);
});
