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
