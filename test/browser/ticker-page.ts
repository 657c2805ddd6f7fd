import { chromium, type Browser, type Page, type Response } from 'playwright-core';

/**
 * Helpers of the ticker page tests: Debian's Chromium (scripts/test-setup.sh installs it)
 * driven by playwright-core, and the page's state as it exposes it in data attributes.
 */

export const CHROMIUM = '/usr/bin/chromium';

/** Headless Chromium that opens no connection of its own: this machine allows loopback only. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/** A page of a fresh browser context, recording its console errors, uncaught exceptions, CSP violations, requested URLs and WebSocket frames. */
export interface TickerPage {
  readonly page: Page;
  /** The response that delivered the page's document. */
  readonly document: Response | null;
  readonly errors: string[];
  readonly requests: string[];
  /** URLs of the WebSockets the page opened. */
  readonly sockets: string[];
  readonly framesSent: string[];
  readonly framesReceived: string[];
}

/** Opens the page at `url`; `prepare` runs before it loads (init scripts, routes). */
export async function openTicker(browser: Browser, url: string, prepare?: (page: Page) => Promise<unknown>): Promise<TickerPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1500 } });
  const page = await context.newPage();
  await prepare?.(page);
  const errors: string[] = [];
  // Chromium logs most CSP violations to the console too, but the event is the one it always fires.
  await page.exposeFunction('reportCspViolation', (text: string) => errors.push(`csp: ${text}`));
  await page.addInitScript({
    content: "document.addEventListener('securitypolicyviolation', (e) => reportCspViolation(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`))",
  });
  const requests: string[] = [];
  const framesSent: string[] = [];
  const framesReceived: string[] = [];
  const sockets: string[] = [];
  page.on('websocket', (socket) => {
    sockets.push(socket.url());
    socket.on('framesent', ({ payload }) => framesSent.push(String(payload)));
    socket.on('framereceived', ({ payload }) => framesReceived.push(String(payload)));
  });
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`exception: ${err.message}`));
  page.on('request', (request) => requests.push(request.url()));
  const document = await page.goto(url);
  return { page, document, errors, requests, sockets, framesSent, framesReceived };
}

export interface RowState {
  readonly topic: string;
  readonly epoch: number;
  readonly seq: number;
  readonly last: string;
}

/** The rows on the board, in page order. */
export function rows(page: Page): Promise<RowState[]> {
  return page.$$eval('#board tbody tr', (elements) => elements.map((row) => ({
    topic: row.getAttribute('data-topic') ?? '',
    epoch: Number(row.getAttribute('data-epoch')),
    seq: Number(row.getAttribute('data-seq')),
    last: row.querySelector('td.last')?.textContent ?? '',
  })));
}

/** A data attribute of the board table (patterns, updates, seqViolations as data-seq-violations). */
export function boardAttribute(page: Page, name: 'patterns' | 'updates' | 'seq-violations'): Promise<string | null> {
  return page.getAttribute('#board', `data-${name}`);
}

/** Waits until the connection indicator shows `state` (connecting, live, reconnecting, stale, closed). */
export async function waitForConnection(page: Page, state: string, timeoutMs: number): Promise<void> {
  await page.locator(`#connection[data-state="${state}"]`).waitFor({ timeout: timeoutMs });
}

/**
 * What the tests' in-page predicates read, typed here since this project's TypeScript has no
 * DOM types outside src/page. Predicates are functions, not strings: Playwright evaluates a
 * string predicate with eval, which the page's CSP (no 'unsafe-eval') refuses.
 */
export interface PageElement {
  readonly dataset: Readonly<Record<string, string | undefined>>;
  readonly textContent: string | null;
}
export interface PageGlobals {
  readonly document: {
    querySelector(selector: string): PageElement | null;
    querySelectorAll(selector: string): { readonly length: number };
  };
}

/** Waits until the board has exactly `count` rows. */
export async function waitForRows(page: Page, count: number, timeoutMs: number): Promise<void> {
  await page.waitForFunction((n) => (globalThis as unknown as PageGlobals).document.querySelectorAll('#board tbody tr[data-seq]').length === n, count, { timeout: timeoutMs });
}

/** A book level as the page's depth ladder draws it: [price, size]. */
export type DrawnLevel = [price: number, size: number];

/** The depth view's ladder as drawn: which book at which record (data attributes), and its levels, each side best first. */
export interface LadderState {
  readonly topic: string;
  readonly epoch: number;
  readonly seq: number;
  readonly checksum: number;
  readonly resyncs: number;
  readonly bids: DrawnLevel[];
  readonly asks: DrawnLevel[];
}

/** Reads the ladder in one step in the page: the page draws it whole in one frame, so this is one record's book. */
export function ladder(page: Page): Promise<LadderState> {
  // No named function inside: tsx would wrap it in a helper (__name) that the page lacks.
  return page.$eval('#ladder', (table) => {
    const drawn: Record<string, DrawnLevel[]> = { bid: [], ask: [] };
    for (const row of table.querySelectorAll('tr[data-side][data-price]')) {
      drawn[row.getAttribute('data-side')!]!.push([Number(row.getAttribute('data-price')), Number(row.getAttribute('data-size'))]);
    }
    return {
      topic: table.getAttribute('data-topic') ?? '',
      epoch: Number(table.getAttribute('data-epoch')),
      seq: Number(table.getAttribute('data-seq')),
      checksum: Number(table.getAttribute('data-checksum')),
      resyncs: Number(table.getAttribute('data-resyncs')),
      bids: drawn.bid!,
      // Drawn above the spread, worst first.
      asks: drawn.ask!.reverse(),
    };
  });
}

export interface DrawnTrade {
  readonly tradeId: string;
  readonly side: string;
  readonly price: number;
  readonly size: number;
}

/** The depth view's trades, in page order (newest first). */
export function drawnTrades(page: Page): Promise<DrawnTrade[]> {
  return page.$$eval('#trades tbody tr', (elements) => elements.map((row) => ({
    tradeId: row.getAttribute('data-trade-id') ?? '',
    side: row.getAttribute('data-side') ?? '',
    price: Number(row.getAttribute('data-price')),
    size: Number(row.getAttribute('data-size')),
  })));
}

/** Waits until the ladder shows a book of `topic` past `seq` (of any epoch, when `epoch` is not given). */
export async function waitForLadder(page: Page, topic: string, timeoutMs: number, after: { epoch: number; seq: number } = { epoch: 0, seq: 0 }): Promise<void> {
  await page.waitForFunction(([wanted, epoch, seq]) => {
    const data = (globalThis as unknown as PageGlobals).document.querySelector('#ladder')?.dataset;
    return data?.topic === wanted && data.seq !== undefined && (Number(data.epoch) !== epoch || Number(data.seq) > seq);
  }, [topic, after.epoch, after.seq] as const, { timeout: timeoutMs });
}
