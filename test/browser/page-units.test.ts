import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import { loadConfig } from '../../src/cli/config.js';
import { contentSecurityPolicy, pageHandler } from '../../src/gateway/page.js';
import { patternOfFilter } from '../../src/page/filter.js';
import { depthTopics, instrumentOfTick } from '../../src/page/instrument.js';
import { LatencyWindow } from '../../src/page/latency.js';
import { depthOfUrl, gatewaySocketUrl, urlWithDepth } from '../../src/page/url.js';

/** The ticker page's logic that needs no browser, and the gateway's handler of its files. */

test('the WebSocket URL is v1/ws relative to the page\'s base URL, ws for http and wss for https', (t) => {
  t.is(gatewaySocketUrl('http://localhost:8080/'), 'ws://localhost:8080/v1/ws');
  t.is(gatewaySocketUrl('http://localhost:8080/index.html?x=1#top'), 'ws://localhost:8080/v1/ws');
  t.is(gatewaySocketUrl('https://example.com/market/'), 'wss://example.com/market/v1/ws');
  t.is(gatewaySocketUrl('https://example.com/market'), 'wss://example.com/v1/ws', 'without the slash, /market is a file in /: what gateway.publicBaseUrl fixes');
});

test('the filter box text becomes a subscription pattern', (t) => {
  t.is(patternOfFilter(''), 'tick.*');
  t.is(patternOfFilter('   '), 'tick.*');
  t.is(patternOfFilter('tick.SIM.BTC*'), 'tick.SIM.BTC*');
  t.is(patternOfFilter(' tick.SIMEQ.AAPL '), 'tick.SIMEQ.AAPL', 'an exact topic');
  t.is(patternOfFilter('SIM.BTC'), 'tick.SIM.BTC*');
  t.is(patternOfFilter('SIMEQ.'), 'tick.SIMEQ.*');
  t.is(patternOfFilter('SIM*'), 'tick.SIM*');
});

test('the depth view\'s instrument is VENUE.SYMBOL, in ?depth=, and names its book and trade topics; a pattern or a malformed name is refused', (t) => {
  t.deepEqual(depthTopics('SIM.BTC-USD'), { book: 'book.SIM.BTC-USD', trade: 'trade.SIM.BTC-USD' });
  t.deepEqual(depthTopics('XNYS.BRK.B'), { book: 'book.XNYS.BRK.B', trade: 'trade.XNYS.BRK.B' }, 'a symbol may hold dots');
  for (const bad of ['SIM', 'SIM.*', 'SIM.BTC*', '', 'SIM..X', 'SIM.<b>']) t.regex(depthTopics(bad) as string, /^no instrument ".*": expected VENUE\.SYMBOL$/, bad);
  t.is(instrumentOfTick('tick.XNYS.BRK.B'), 'XNYS.BRK.B', 'a board row opens its instrument');
  t.is(depthOfUrl('http://localhost:8080/?depth=SIM.BTC-USD'), 'SIM.BTC-USD');
  t.is(depthOfUrl('http://localhost:8080/?depth='), undefined);
  t.is(depthOfUrl('http://localhost:8080/'), undefined);
  t.is(urlWithDepth('http://localhost:8080/market/?x=1#top', 'SIMEQ.AAPL'), 'http://localhost:8080/market/?x=1&depth=SIMEQ.AAPL#top');
  t.is(urlWithDepth('http://localhost:8080/?depth=SIMEQ.AAPL', undefined), 'http://localhost:8080/');
});

test('latency percentiles cover the last 10 s, to within a bucket (4.4 %)', (t) => {
  const window = new LatencyWindow(10);
  const start = 1_764_070_000_000;
  t.deepEqual(window.summary(start), { p50: undefined, p99: undefined, count: 0 });
  for (let ms = 1; ms <= 1000; ms++) window.record(ms * 1000, start + ms);
  const { p50, p99, count } = window.summary(start + 1000);
  t.is(count, 1000);
  t.true(Math.abs(p50! / 500_000 - 1) < 0.045, `p50 ${p50} us`);
  t.true(Math.abs(p99! / 990_000 - 1) < 0.045, `p99 ${p99} us`);
  window.record(-5, start + 1000);
  t.is(window.summary(start + 1000).count, 1001, 'a negative latency (clock skew) counts as 0');
  t.is(window.summary(start + 10_999).count, 2, 'the second holding 999 samples dropped out; the next one (2 samples) is still in');
  t.is(window.summary(start + 11_000).count, 0);
  window.record(2_000, start + 20_500);
  t.is(window.summary(start + 20_500).count, 1, 'a slot reused a window later starts empty');
});

/** The page handler on a loopback server, serving `files` from a directory of its own. */
async function servePage(t: import('ava').ExecutionContext, files: Record<string, string> | undefined, publicBaseUrl = '') {
  const dir = mkdtempSync(join(tmpdir(), 'tickfan-page-'));
  for (const [name, text] of Object.entries(files ?? {})) writeFileSync(join(dir, name), text);
  const server: Server = createServer(pageHandler({ publicBaseUrl, dir: pathToFileURL(`${dir}/`) }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { dir, get: (path: string, init?: RequestInit) => fetch(`${origin}${path}`, init) };
}

const PAGE = {
  'index.html': '<!doctype html>\n<html>\n  <head>\n    <script type="module" src="ticker.js"></script>\n  </head>\n</html>\n',
  'ticker.js': 'console.log("ticker")\n',
  'ticker.css': 'body {}\n',
};

test('the gateway serves the page\'s files with their types at / and their names, and 404 for anything else', async (t) => {
  const { get } = await servePage(t, PAGE);
  for (const [path, file, type] of [['/', 'index.html', 'text/html'], ['/index.html', 'index.html', 'text/html'], ['/ticker.js', 'ticker.js', 'text/javascript'], ['/ticker.css', 'ticker.css', 'text/css']] as const) {
    const response = await get(path);
    t.is(response.status, 200, path);
    t.true(response.headers.get('content-type')!.startsWith(type), path);
    t.is(await response.text(), PAGE[file], path);
  }
  t.is((await get('/?x=1')).status, 200, 'a query does not change the file');
  const head = await get('/', { method: 'HEAD' });
  t.is(head.status, 200);
  t.is(head.headers.get('content-length'), String(Buffer.byteLength(PAGE['index.html'])));
  t.is((await get('/favicon.ico')).status, 404);
  t.is((await get('/../package.json')).status, 404);
  t.is((await get('/v1/ws')).status, 404, 'the WebSocket path without an upgrade');
  const post = await get('/', { method: 'POST', body: 'x' });
  t.is(post.status, 405);
  t.is(post.headers.get('allow'), 'GET, HEAD');
});

test('every response of the page handler carries the CSP and the security headers (files, 404, 405)', async (t) => {
  const { get } = await servePage(t, PAGE);
  for (const [path, method] of [['/', 'GET'], ['/ticker.js', 'GET'], ['/ticker.css', 'HEAD'], ['/nothing', 'GET'], ['/', 'POST']] as const) {
    const { headers } = await get(path, { method });
    t.is(headers.get('content-security-policy'), contentSecurityPolicy(''), `${method} ${path}`);
    t.is(headers.get('x-content-type-options'), 'nosniff', `${method} ${path}`);
    t.is(headers.get('referrer-policy'), 'no-referrer', `${method} ${path}`);
    t.is(headers.get('x-frame-options'), 'DENY', `${method} ${path}`);
    t.is(headers.get('cross-origin-opener-policy'), 'same-origin', `${method} ${path}`);
  }
});

test('the CSP allows only the page\'s own origin (and an absolute gateway.publicBaseUrl\'s), no inline code, no framing, no forms, <base> only when the base URL is set', (t) => {
  t.is(contentSecurityPolicy(''), "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
  t.is(contentSecurityPolicy('/market/'), "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; form-action 'none'");
  t.is(contentSecurityPolicy('https://example.com/market/'), "default-src 'self'; script-src 'self' https://example.com; style-src 'self' https://example.com; connect-src 'self' https://example.com wss://example.com; img-src 'self' data:; frame-ancestors 'none'; base-uri https://example.com; form-action 'none'");
});

test('with a public base URL, the page gets a <base href> first in its head', async (t) => {
  const { get } = await servePage(t, PAGE, 'https://example.com/m"arket/');
  const html = await (await get('/')).text();
  t.is(html, PAGE['index.html'].replace('<head>', '<head>\n    <base href="https://example.com/m&quot;arket/">'));
});

test('an unbuilt page answers 503 saying so, and is served once it is built', async (t) => {
  const { dir, get } = await servePage(t, undefined);
  const missing = await get('/');
  t.is(missing.status, 503);
  t.regex(await missing.text(), /ticker page is not built \(npm run build\)/);
  for (const [name, text] of Object.entries(PAGE)) writeFileSync(join(dir, name), text);
  t.is((await get('/')).status, 200);
});

test('gateway.publicBaseUrl takes an http(s) URL or an absolute path ending in /, and refuses anything else naming the setting', (t) => {
  for (const value of ['', 'https://example.com/market/', 'http://10.0.0.1:8080/', '/market/', '/']) {
    t.is(loadConfig({ env: { TICKFAN_GATEWAY_PUBLIC_BASE_URL: value } }).gateway.publicBaseUrl, value);
  }
  for (const value of ['/market', 'https://example.com/market', 'ftp://example.com/', '//example.com/', 'market/']) {
    const err = t.throws(() => loadConfig({ env: { TICKFAN_GATEWAY_PUBLIC_BASE_URL: value } }));
    t.regex(err!.message, /gateway\.publicBaseUrl: must be empty, or an http\(s\) URL or absolute path ending in \//, value);
  }
});
