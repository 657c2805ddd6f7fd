/**
 * The live ticker page the gateway serves at `/`: the tickfan client SDK in a browser.
 * Updates are recorded as they come and drawn once per animation frame, never per tick.
 *
 * For tests and tools the page exposes its state as data attributes: on #board
 * `data-patterns` (the acknowledged subscriptions, space-separated), `data-updates` and
 * `data-seq-violations`; on each row `data-topic`, `data-epoch`, `data-seq`; on
 * #connection `data-state` (connecting, live, reconnecting, stale, closed). The depth view
 * (depth.ts, opened by a click on a row or by `?depth=VENUE.SYMBOL`) has its own: see Ladder
 * and TradeTape.
 */
import { patternMatches, TickfanClient, type TickfanError } from '../client/ws/index.js';
import { Board } from './board.js';
import { ConnectionView } from './connection.js';
import { DepthPanel } from './depth.js';
import { ALL_TICKS, patternOfFilter } from './filter.js';
import { formatMs } from './format.js';
import { instrumentOfTick } from './instrument.js';
import { LatencyWindow } from './latency.js';
import { depthOfUrl, gatewaySocketUrl, urlWithDepth } from './url.js';
import { nowMicros } from '../wire/time.js';

/** How often ages, rates and the reconnect countdown are redrawn without any tick. */
const CLOCK_MS = 250;
/** Rates are per second: sampled this often. */
const RATE_SAMPLE_MS = 1000;
/** Typing pauses this long before the filter becomes a subscription. */
const FILTER_DEBOUNCE_MS = 300;

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the page has no #${id}`);
  return found as T;
}

const table = element<HTMLTableElement>('board');
const connectionBadge = element('connection');
const latencyText = element('latency');
const rowsText = element('rows');
const rateText = element('rate');
const filterForm = element<HTMLFormElement>('filter-form');
const filterInput = element<HTMLInputElement>('filter');
const filterError = element('filter-error');
const depthClose = element<HTMLButtonElement>('depth-close');

const board = new Board(table.tBodies[0]!);
const connection = new ConnectionView();
const latency = new LatencyWindow(10);

const client = new TickfanClient(gatewaySocketUrl(document.baseURI), {
  waitOnFirstConnect: true,
  // A page waits for its subscriptions however long the gateway is away.
  requestTimeoutMs: 0,
  minReconnectDelayMs: 250,
  maxReconnectDelayMs: 5_000,
});

const depth = new DepthPanel(client, {
  panel: element('depth'),
  title: element('depth-title'),
  state: element('depth-state'),
  ladder: element<HTMLTableElement>('ladder'),
  trades: element<HTMLTableElement>('trades').tBodies[0]!,
}, requestFrame);

/** The pattern the board shows, and during a filter change also the one it is leaving. */
let wanted: string[] = [ALL_TICKS];

client.on('update', (update) => {
  if (!wanted.some((pattern) => patternMatches(pattern, update.topic))) return;
  board.apply(update);
  if (update.kind === 'tick') latency.record(nowMicros() - update.ts, Date.now());
  requestFrame();
});
client.on('state', (change) => {
  connection.onState(change, Date.now());
  requestFrame();
});
client.on('status', (event) => {
  connection.onStatus(event);
  requestFrame();
});
client.on('error', (err) => console.warn(`tickfan: ${err.message}`));

// --- drawing ------------------------------------------------------------------------

let frameRequested = false;
let lastClockAt = 0;
let lastRateSampleAt = performance.now();
let updatesAtRateSample = 0;

function requestFrame(): void {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(drawFrame);
}

function drawFrame(): void {
  frameRequested = false;
  board.render();
  depth.render();
  const now = performance.now();
  if (now - lastClockAt >= CLOCK_MS) {
    lastClockAt = now;
    drawClock(now);
  }
  drawConnection();
  table.dataset.updates = String(board.updates);
  table.dataset.seqViolations = String(board.seqViolations);
}

function drawClock(now: number): void {
  const sinceSample = now - lastRateSampleAt;
  const sample = sinceSample >= RATE_SAMPLE_MS;
  board.renderClock(nowMicros(), sample ? sinceSample : undefined);
  if (sample) {
    rateText.textContent = `${Math.round(((board.updates - updatesAtRateSample) * 1000) / sinceSample)} updates/s`;
    updatesAtRateSample = board.updates;
    lastRateSampleAt = now;
  }
  rowsText.textContent = `${board.size} instruments`;
  const { p50, p99, count } = latency.summary(Date.now());
  latencyText.textContent = p50 === undefined ? 'latency: no ticks in 10 s' : `latency p50 ${formatMs(p50 / 1000)} · p99 ${formatMs(p99! / 1000)} (${count} ticks, 10 s)`;
}

/** Every frame, so a state change shows at once; the DOM is written only when the text changes. */
function drawConnection(): void {
  const view = connection.view((venue) => board.showsVenue(venue), Date.now());
  if (connectionBadge.textContent === view.text && connectionBadge.dataset.state === view.state) return;
  connectionBadge.dataset.state = view.state;
  connectionBadge.textContent = view.text;
  connectionBadge.title = view.title;
}

setInterval(requestFrame, CLOCK_MS);

// --- filter ---------------------------------------------------------------------------

let shownPattern = ALL_TICKS;
/** Filter changes run one at a time; only the newest text typed meanwhile is applied. */
let filterChange: Promise<void> = Promise.resolve();
let filterText = '';
let debounce: ReturnType<typeof setTimeout> | undefined;

/** Subscribes the new pattern before leaving the old one, so the board never goes empty in between. */
async function showPattern(pattern: string): Promise<void> {
  if (pattern === shownPattern) return;
  const previous = shownPattern;
  wanted = [previous, pattern];
  try {
    await client.subscribe(pattern);
  } catch (err) {
    wanted = [previous];
    filterError.textContent = (err as TickfanError).message;
    return;
  }
  shownPattern = pattern;
  wanted = [pattern];
  board.retain((topic) => patternMatches(pattern, topic));
  requestFrame();
  await client.unsubscribe(previous).catch((err: TickfanError) => console.warn(`tickfan: unsubscribe ${previous}: ${err.message}`));
}

function applyFilter(): void {
  clearTimeout(debounce);
  filterText = filterInput.value;
  filterChange = filterChange.then(async () => {
    const pattern = patternOfFilter(filterText);
    filterError.textContent = '';
    await showPattern(pattern);
    table.dataset.patterns = client.subscriptions().join(' ');
  });
}

filterInput.addEventListener('input', () => {
  clearTimeout(debounce);
  debounce = setTimeout(applyFilter, FILTER_DEBOUNCE_MS);
});
filterForm.addEventListener('submit', (event) => {
  event.preventDefault();
  applyFilter();
});

// --- depth view -----------------------------------------------------------------------

/** Shows the depth of `instrument` (none: closes it), and puts it in the address, so the view can be linked to or reloaded. */
function showDepth(instrument: string | undefined): void {
  depth.choose(instrument);
  history.replaceState(null, '', urlWithDepth(location.href, instrument));
}

table.tBodies[0]!.addEventListener('click', (event) => {
  const topic = (event.target as Element).closest('tr')?.dataset.topic;
  if (topic !== undefined) showDepth(instrumentOfTick(topic));
});
depthClose.addEventListener('click', () => showDepth(undefined));

void client.subscribe(ALL_TICKS).then(
  () => (table.dataset.patterns = client.subscriptions().join(' ')),
  (err: TickfanError) => (filterError.textContent = err.message),
);
depth.choose(depthOfUrl(location.href));
requestFrame();
