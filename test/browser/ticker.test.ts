import test from 'ava';
import type { Browser } from 'playwright-core';
import { DEFAULT_INSTRUMENTS } from '../../src/feeds/simulated/index.js';
import { startGateway } from '../client-ws/helpers.js';
import { Fabric } from '../helpers/late-join.js';
import { gatewaySubscriptions, metricsEnv } from './metrics.js';
import { boardAttribute, launchChromium, openTicker, rows, waitForConnection, waitForRows, type PageGlobals } from './ticker-page.js';

/**
 * The live ticker page in real Chromium against one all-in-one tickfan (simulated feed,
 * proxy, snapshot service, gateway). Serial: each test measures time on a 2-core machine.
 */

let browser: Browser;
let fabric: Fabric;
let origin: string;
let metricsPort: number;

test.before(async () => {
  const metrics = await metricsEnv();
  metricsPort = metrics.port;
  fabric = new Fabric({ TICKFAN_FEEDS_SIMULATED_RATE: '2000', ...metrics.env });
  [browser, origin] = await Promise.all([
    launchChromium(),
    startGateway(fabric, 0, 'proxy,snapshot,gateway,feed').then(({ url }) => url.replace(/^ws:(.*)\/v1\/ws$/, 'http:$1')),
  ]);
});

test.after.always(async () => {
  await browser?.close();
  fabric?.kill();
});

test.serial('the page loads under its CSP with no violation and no console error, shows every simulated instrument within 2 s of load, and the prices change', async (t) => {
  const { page, document, errors, requests } = await openTicker(browser, `${origin}/`);
  const loaded = performance.now();
  const headers = document?.headers() ?? {};
  t.regex(headers['content-security-policy'] ?? '', /^default-src 'self'; script-src 'self'; .*frame-ancestors 'none'/, 'served with the strict CSP');
  t.like(headers, { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY', 'cross-origin-opener-policy': 'same-origin' });
  await waitForRows(page, DEFAULT_INSTRUMENTS.length, 2_000);
  t.log(`${DEFAULT_INSTRUMENTS.length} rows ${Math.round(performance.now() - loaded)} ms after load`);
  await waitForConnection(page, 'live', 2_000);

  const expected = DEFAULT_INSTRUMENTS.map(({ venue, symbol }) => `tick.${venue}.${symbol}`).sort();
  const first = await rows(page);
  t.deepEqual(first.map((row) => row.topic), expected, 'one row per instrument, sorted by topic');

  // Prices move: wait (bounded) until most rows show a different last price and a higher seq.
  const before = new Map(first.map((row) => [row.topic, row]));
  let moved = 0;
  for (let round = 0; round < 50 && moved < expected.length / 2; round++) {
    await page.waitForTimeout(100);
    moved = (await rows(page)).filter((row) => row.seq > before.get(row.topic)!.seq && row.last !== before.get(row.topic)!.last).length;
  }
  t.true(moved >= expected.length / 2, `${moved} of ${expected.length} rows changed their last price`);
  t.is(await boardAttribute(page, 'seq-violations'), '0');
  t.regex(await page.textContent('#latency') ?? '', /^latency p50 [\d.]+ (ms|s) · p99 [\d.]+ (ms|s) \(\d+ ticks, 10 s\)$/);
  t.deepEqual(errors, []);
  t.deepEqual(requests.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:')), [], 'nothing is loaded from elsewhere');
  await page.context().close();
});

test.serial('the CSP is enforced and a violation is seen: an injected inline script and inline stylesheet are refused and reported', async (t) => {
  const { page, errors } = await openTicker(browser, `${origin}/`);
  await waitForConnection(page, 'live', 5_000);
  await page.addScriptTag({ content: 'document.title = "injected"' }).catch(() => undefined);
  await page.addStyleTag({ content: 'body { display: none }' }).catch(() => undefined);
  // Violations are reported asynchronously, through the page's exposed function.
  const deadline = performance.now() + 5_000;
  while (errors.filter((e) => e.startsWith('csp:')).length < 2 && performance.now() < deadline) await page.waitForTimeout(20);
  t.not(await page.title(), 'injected', 'the inline script did not run');
  t.true(errors.some((e) => /^csp: script-src(-elem)? blocked inline/.test(e)), errors.join('\n'));
  t.true(errors.some((e) => /^csp: style-src(-elem)? blocked inline/.test(e)), errors.join('\n'));
  await page.context().close();
});

test.serial('the filter tick.SIM.BTC* shows only matching rows and replaces the WebSocket subscription', async (t) => {
  const { page, errors, framesSent, framesReceived } = await openTicker(browser, `${origin}/`);
  await waitForRows(page, DEFAULT_INSTRUMENTS.length, 5_000);
  t.is(await boardAttribute(page, 'patterns'), 'tick.*');
  t.is(await gatewaySubscriptions(metricsPort), 1, 'the gauge counts the page\'s tick.* subscription');

  await page.fill('#filter', 'tick.SIM.BTC*');
  await page.locator('#board[data-patterns="tick.SIM.BTC*"]').waitFor({ timeout: 5_000 });
  const expected = DEFAULT_INSTRUMENTS.filter(({ venue, symbol }) => venue === 'SIM' && symbol.startsWith('BTC')).map(({ symbol }) => `tick.SIM.${symbol}`).sort();
  await waitForRows(page, expected.length, 2_000);
  t.deepEqual((await rows(page)).map((row) => row.topic), expected);

  // On the wire: the new pattern was subscribed, then tick.* unsubscribed, and after that
  // the gateway sent ticks of the new pattern only.
  const requests = framesSent.map((text) => JSON.parse(text) as { op: string; topics?: string[] });
  const subscribe = requests.findIndex((r) => r.op === 'subscribe' && r.topics?.join() === 'tick.SIM.BTC*');
  const unsubscribe = requests.findIndex((r) => r.op === 'unsubscribe' && r.topics?.join() === 'tick.*');
  t.true(subscribe >= 0 && unsubscribe > subscribe, `subscribe tick.SIM.BTC*, then unsubscribe tick.*: ${framesSent.join(' ')}`);
  const updatesBefore = Number(await boardAttribute(page, 'updates'));
  await page.waitForFunction((n) => Number((globalThis as unknown as PageGlobals).document.querySelector('#board')?.dataset.updates) > n, updatesBefore + 20, { timeout: 5_000 });
  const events = framesReceived.flatMap((text) => JSON.parse(text) as { type: string; topic?: string }[]);
  const unsubscribed = events.findIndex((event) => event.type === 'unsubscribed');
  t.true(unsubscribed >= 0, 'the gateway confirmed the unsubscribe');
  const after = events.slice(unsubscribed + 1).filter((event) => event.type === 'tick');
  t.true(after.length > 0, 'ticks keep coming after the filter change');
  t.deepEqual(after.filter((event) => !event.topic!.startsWith('tick.SIM.BTC')), [], 'after unsubscribed, only ticks of tick.SIM.BTC*');
  t.is(await gatewaySubscriptions(metricsPort), 1, 'the gauge counts one subscription: tick.* was replaced');
  t.deepEqual(errors, []);
  await page.context().close();
});

/**
 * Counts, in the page, its animation-frame callbacks and every write to the board's DOM
 * (cell text, rows added) made outside one: wraps requestAnimationFrame, the textContent
 * setter and insertBefore before the page's script runs.
 */
const COUNT_DOM_WRITES = `(() => {
  const probe = window.__probe = { frames: 0, writesInFrames: 0, writesOutsideFrames: 0 };
  let inFrame = false;
  const raf = window.requestAnimationFrame.bind(window);
  window.requestAnimationFrame = (callback) => raf((time) => {
    probe.frames++;
    inFrame = true;
    try { callback(time); } finally { inFrame = false; }
  });
  const count = (node) => {
    const element = node.nodeType === 1 ? node : node.parentElement;
    if (element && element.closest('#board')) inFrame ? probe.writesInFrames++ : probe.writesOutsideFrames++;
  };
  const text = Object.getOwnPropertyDescriptor(Node.prototype, 'textContent');
  Object.defineProperty(Node.prototype, 'textContent', { ...text, set(value) { count(this); text.set.call(this, value); } });
  const insertBefore = Node.prototype.insertBefore;
  Node.prototype.insertBefore = function (node, child) { count(this); return insertBefore.call(this, node, child); };
})()`;

test.serial('at thousands of ticks per second the page writes the board only in animation frames, many ticks per frame', async (t) => {
  const { page, errors } = await openTicker(browser, `${origin}/`, (page) => page.addInitScript(COUNT_DOM_WRITES));
  await waitForRows(page, DEFAULT_INSTRUMENTS.length, 5_000);
  const probe = () => page.evaluate('({ ...window.__probe, updates: Number(document.querySelector("#board").dataset.updates) })') as Promise<{ frames: number; writesInFrames: number; writesOutsideFrames: number; updates: number }>;
  const start = await probe();
  await page.waitForTimeout(2_000);
  const end = await probe();
  const frames = end.frames - start.frames;
  const updates = end.updates - start.updates;
  t.log(`2 s: ${updates} updates drawn in ${frames} frames, ${end.writesInFrames - start.writesInFrames} DOM writes`);
  t.true(updates >= 2_000 / 2, `the page kept up with the feed (conflation aside): ${updates} updates in 2 s at 2,000 ticks/s`);
  // How many frames Chromium draws depends on the machine's load; that it batches does not.
  t.true(frames > 0, 'it kept drawing');
  t.true(updates > 5 * frames, 'ticks are drawn in batches, not one by one');
  t.is(end.writesOutsideFrames, 0, 'no DOM write to the board outside an animation frame');
  t.deepEqual(errors, []);
  await page.context().close();
});
