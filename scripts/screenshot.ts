// Writes docs/ticker.png: the live ticker page of an all-in-one tickfan on private endpoints,
// a few seconds after it opened (so prices have moved and cells flash). Needs `npm run build`.
import { fileURLToPath } from 'node:url';
import { startGateway } from '../test/client-ws/helpers.js';
import { Fabric } from '../test/helpers/late-join.js';
import { launchChromium, openTicker, waitForRows } from '../test/browser/ticker-page.js';
import { DEFAULT_INSTRUMENTS } from '../src/feeds/simulated/index.js';

const output = fileURLToPath(new URL('../docs/ticker.png', import.meta.url));
const fabric = new Fabric({ TICKFAN_FEEDS_SIMULATED_RATE: '2000' });
const browser = await launchChromium();
try {
  const { url } = await startGateway(fabric, 0, 'proxy,snapshot,gateway,feed');
  const { page, errors } = await openTicker(browser, new URL('/', url.replace(/^ws/, 'http')).toString());
  await waitForRows(page, DEFAULT_INSTRUMENTS.length, 5_000);
  await page.waitForTimeout(3_000);
  await page.screenshot({ path: output, fullPage: true });
  if (errors.length > 0) throw new Error(`the page reported errors: ${errors.join('; ')}`);
  console.log(`wrote ${output}`);
} finally {
  await browser.close();
  fabric.kill();
}
