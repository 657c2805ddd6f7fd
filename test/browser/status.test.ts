import { createServer } from 'node:http';
import test from 'ava';
import type { WebSocketRoute } from 'playwright-core';
import { pageHandler } from '../../src/gateway/page.js';
import { launchChromium, openTicker, waitForConnection, waitForRows } from './ticker-page.js';

/**
 * The connection indicator on `status` events (PROTOCOL.md section 5), which the gateway
 * sends when a venue goes stale or down. The page is the built one, served by the gateway's
 * page handler; its WebSocket is answered by the test (playwright's routeWebSocket), so the
 * events come exactly when the test says.
 */

const TOPICS = ['tick.SIM.BTC-USD', 'tick.SIMEQ.AAPL'];

function snapshot(topic: string, seq: number) {
  const [, venue, symbol] = topic.split('.');
  return { type: 'snapshot', topic, epoch: 7, seq, ts: Date.now() * 1000, data: { venue, symbol, bid: 100, ask: 101, last: 100.5, volume: 10 } };
}

test('the indicator shows "stale feed" while a venue on the board is stale or down, and live again when it is up', async (t) => {
  const server = createServer(pageHandler({ publicBaseUrl: '' }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await launchChromium();
  t.teardown(async () => {
    await browser.close();
    server.close();
  });
  let gateway: WebSocketRoute | undefined;
  const { page, errors } = await openTicker(browser, `http://127.0.0.1:${(server.address() as { port: number }).port}/`, (page) =>
    page.routeWebSocket(/\/v1\/ws$/, (socket) => {
      gateway = socket;
      socket.send(JSON.stringify([{ type: 'welcome', session: 's1', server: 'test/0', heartbeatMs: 60_000 }]));
      socket.onMessage((text) => {
        const request = JSON.parse(String(text)) as { op: string; id: number; topics: string[] };
        if (request.op === 'subscribe') socket.send(JSON.stringify([{ type: 'subscribed', id: request.id, topics: request.topics }, ...TOPICS.map((topic) => snapshot(topic, 1))]));
      });
    }));
  await waitForRows(page, TOPICS.length, 5_000);
  await waitForConnection(page, 'live', 2_000);
  const status = (venue: string, state: string, reason: string) => gateway!.send(JSON.stringify([{ type: 'status', venue, state, reason, ts: Date.now() * 1000 }]));

  status('OTHER', 'down', 'not on the board');
  status('SIM', 'stale', 'no tick for 5 s');
  await waitForConnection(page, 'stale', 2_000);
  t.is(await page.textContent('#connection'), 'stale feed: SIM');
  t.is(await page.getAttribute('#connection', 'title'), 'SIM stale: no tick for 5 s');

  status('SIMEQ', 'down', 'feed disconnected');
  await page.locator('#connection', { hasText: 'stale feed: SIM, SIMEQ' }).waitFor({ timeout: 2_000 });
  status('SIM', 'up', '');
  status('SIMEQ', 'up', '');
  await waitForConnection(page, 'live', 2_000);
  t.is(await page.textContent('#connection'), 'live', 'a venue that is not on the board does not count');
  t.deepEqual(errors, []);
});
