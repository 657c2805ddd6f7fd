import test, { type ExecutionContext } from 'ava';
import type { Browser, Page } from 'playwright-core';
import { DEFAULT_INSTRUMENTS } from '../../src/feeds/simulated/index.js';
import { TickfanClient, type BookLevel } from '../../src/client/ws/index.js';
import { bookChecksum, CHECKSUM_DEPTH } from '../../src/wire/checksum.js';
import type { TradeRecord } from '../../src/wire/record.js';
import { startGateway } from '../client-ws/helpers.js';
import { Conditions } from '../helpers/conditions.js';
import { Fabric } from '../helpers/late-join.js';
import type { TickfanProcess } from '../helpers/tickfan-process.js';
import { drawnTrades, ladder, launchChromium, openTicker, waitForConnection, waitForLadder, waitForRows, type DrawnLevel, type LadderState } from './ticker-page.js';

/**
 * The ticker page's depth view in real Chromium against a fabric (proxy, snapshot service,
 * simulated feed with books and trades) and a gateway process of its own, which the last test
 * restarts. What the page draws is compared with the source as a Node SDK client sees it,
 * subscribed to the same topics with conflate:false: every record's book, by (epoch, seq).
 */

const INSTRUMENT = 'SIM.ETH-USD';
const BOOK = `book.${INSTRUMENT}`;
const TRADE = `trade.${INSTRUMENT}`;
/** Drawn ladders compared with the source's book per check: each at another record. */
const LADDERS_COMPARED = 5;
/** Levels per side the ladder draws (src/page/ladder.ts, which needs the DOM): those the checksum covers. */
const LADDER_DEPTH = CHECKSUM_DEPTH;

let browser: Browser;
let fabric: Fabric;
let gateway: TickfanProcess;
let port: number;

test.before(async () => {
  // Fabric's feed publishes ticks only unless asked: this page shows books and trades.
  fabric = new Fabric({ TICKFAN_FEEDS_SIMULATED_RATE: '2000', TICKFAN_FEEDS_SIMULATED_BOOK_DEPTH: '50', TICKFAN_FEEDS_SIMULATED_TRADES: 'true' });
  [browser] = await Promise.all([launchChromium(), fabric.start('proxy,snapshot,feed')]);
  const started = await startGateway(fabric);
  gateway = started.gateway;
  port = Number(new URL(started.url).port);
});

test.after.always(async () => {
  await browser?.close();
  fabric?.kill();
});

/** The top of one record's book as its source published it, and that record's checksum. */
interface SourceTop {
  readonly checksum: number;
  readonly bids: BookLevel[];
  readonly asks: BookLevel[];
}

/** The instrument's book after every record and its trades, as a Node SDK client receives them (conflate:false: each record). */
class Source {
  readonly client: TickfanClient;
  readonly trades = new Map<string, TradeRecord>();
  private readonly tops = new Map<string, SourceTop>();
  private readonly conditions = new Conditions();

  constructor() {
    this.client = new TickfanClient(`ws://127.0.0.1:${port}/v1/ws`, { waitOnFirstConnect: true, requestTimeoutMs: 0, minReconnectDelayMs: 100, maxReconnectDelayMs: 1_000 });
    this.client.on('book', ({ book, record, update }) => {
      this.tops.set(`${update.epoch}:${update.seq}`, { checksum: record.checksum, ...book.top(LADDER_DEPTH) });
      this.conditions.check();
    });
    this.client.on('update', (update) => {
      if (update.topic !== TRADE) return;
      const trade = update.record as unknown as TradeRecord;
      this.trades.set(trade.tradeId, trade);
      this.conditions.check();
    });
  }

  async subscribe(): Promise<void> {
    await this.client.subscribe([BOOK, TRADE], { conflate: false });
  }

  /** The book after the record at (epoch, seq), once this client has it; undefined when it never came (a resume that skipped it). */
  async top(epoch: number, seq: number, timeoutMs = 5_000): Promise<SourceTop | undefined> {
    const key = `${epoch}:${seq}`;
    const passed = () => { const held = this.client.get(BOOK); return held !== undefined && (held.epoch !== epoch || held.seq >= seq); };
    await this.conditions.until(() => this.tops.has(key) || passed(), timeoutMs, () => `the source's record ${key} of ${BOOK}`);
    return this.tops.get(key);
  }

  /** Resolves once this client holds every trade of `ids`. */
  async holdsTrades(ids: readonly string[], timeoutMs = 5_000): Promise<void> {
    await this.conditions.until(() => ids.every((id) => this.trades.has(id)), timeoutMs, () => `the source's trades ${ids.filter((id) => !this.trades.has(id)).join(', ')}`);
  }
}

function levels(side: readonly BookLevel[]): DrawnLevel[] {
  return side.map(([price, size]) => [price, size]);
}

/**
 * Compares LADDERS_COMPARED drawn ladders, each at a newer record than the last, with the source's
 * book at that record: the levels, the checksum the page shows, the one of the drawn levels and the
 * record's. A ladder drawn at a record the source client skipped (resumed past it) is read again.
 */
async function ladderMatchesSource(t: ExecutionContext, page: Page, source: Source): Promise<LadderState> {
  let drawn = await ladder(page);
  for (let compared = 0, reads = 0; compared < LADDERS_COMPARED; reads++) {
    if (reads > 10 * LADDERS_COMPARED) throw new Error(`only ${compared} drawn ladders were at a record the source client received`);
    const top = await source.top(drawn.epoch, drawn.seq);
    if (top !== undefined) {
      compared++;
      const at = `${drawn.topic} epoch ${drawn.epoch} seq ${drawn.seq}`;
      t.deepEqual({ bids: drawn.bids, asks: drawn.asks }, { bids: levels(top.bids), asks: levels(top.asks) }, `the drawn levels are the source's at ${at}`);
      t.is(drawn.checksum, top.checksum, `data-checksum is the record's checksum at ${at}`);
      t.is(bookChecksum(drawn.bids, drawn.asks), drawn.checksum, `the drawn levels have the checksum shown at ${at}`);
    }
    await waitForLadder(page, BOOK, 5_000, drawn);
    drawn = await ladder(page);
  }
  t.is(drawn.bids.length, LADDER_DEPTH, 'a full side of bids drawn');
  t.is(drawn.asks.length, LADDER_DEPTH, 'a full side of asks drawn');
  t.is(drawn.resyncs, 0, 'the page never had to take its book afresh (no checksum mismatch)');
  return drawn;
}

/** The trades drawn, once there are `count`, each as the source published it; newest first. */
async function tradesMatchSource(t: ExecutionContext, page: Page, source: Source, count: number): Promise<void> {
  await page.locator(`#trades tbody tr:nth-child(${count})`).waitFor({ timeout: 15_000 });
  const drawn = await drawnTrades(page);
  t.true(drawn.length >= count && drawn.length <= 20, `${drawn.length} trades drawn, at most the 20 the tape shows (TRADES_SHOWN)`);
  await source.holdsTrades(drawn.map((trade) => trade.tradeId));
  for (const trade of drawn) {
    const published = source.trades.get(trade.tradeId)!;
    t.deepEqual(trade, { tradeId: published.tradeId, side: published.side, price: published.price, size: published.size }, `trade ${trade.tradeId}`);
  }
  const ids = drawn.map((trade) => Number(trade.tradeId));
  t.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest (the simulator numbers its trades) first');
  t.true(drawn.every((trade) => (trade.side === 'buy' || trade.side === 'sell') && trade.size > 0), 'each with its side and a size');
}

test.serial('a click on a row opens the depth view: the ladder is the source\'s book at the record drawn, the trades are the source\'s, no CSP violation or console error', async (t) => {
  const source = new Source();
  t.teardown(() => source.client.close());
  await source.subscribe();
  const { page, errors, framesSent, framesReceived } = await openTicker(browser, `http://127.0.0.1:${port}/`);
  await waitForRows(page, DEFAULT_INSTRUMENTS.length, 5_000);
  t.true(await page.isHidden('#depth'), 'no depth view until an instrument is chosen');

  await page.click(`#board tr[data-topic="tick.${INSTRUMENT}"]`);
  await waitForLadder(page, BOOK, 5_000);
  t.is(await page.textContent('#depth-title'), INSTRUMENT);
  t.is(new URL(page.url()).searchParams.get('depth'), INSTRUMENT, 'the address links to the view');
  const requests = framesSent.map((text) => JSON.parse(text) as { op: string; topics?: string[]; snapshot?: boolean; conflate?: boolean });
  t.like(requests.find((r) => r.op === 'subscribe' && r.topics?.includes(BOOK)), { topics: [BOOK], snapshot: true });
  t.like(requests.find((r) => r.op === 'subscribe' && r.topics?.includes(TRADE)), { topics: [TRADE], snapshot: true, conflate: false });

  await ladderMatchesSource(t, page, source);
  await tradesMatchSource(t, page, source, 10);

  // The size bars: the largest level's fills its cell, set from script under the CSP.
  const bars = await page.$$eval('#ladder tr[data-size]', (rows) => {
    const { getComputedStyle } = globalThis as unknown as StyleGlobals;
    return rows.map((row) => ({
      size: Number(row.getAttribute('data-size')),
      fill: getComputedStyle(row).getPropertyValue('--fill').trim(),
      width: Number.parseFloat(getComputedStyle(row.querySelector('td.bar'), '::before').width),
    }));
  });
  const largest = Math.max(...bars.map((bar) => bar.size));
  t.true(bars.some((bar) => bar.size === largest && bar.fill === '1.000' && bar.width > 0), JSON.stringify(bars));
  t.true(bars.every((bar) => Math.abs(Number(bar.fill) - bar.size / largest) < 0.001), 'each bar is its size over the largest shown');

  // Another instrument: the view leaves this one's topics, and then the gateway sends none of them.
  const other = 'SIM.BTC-USD';
  await page.click(`#board tr[data-topic="tick.${other}"]`);
  await waitForLadder(page, `book.${other}`, 5_000);
  await unsubscribed(page, framesSent, framesReceived, [BOOK, TRADE]);
  const afterLeaving = framesReceived.flatMap((text) => JSON.parse(text) as { type: string; topic?: string; topics?: string[] });
  const confirmed = afterLeaving.findIndex((event) => event.type === 'unsubscribed' && event.topics?.includes(BOOK));
  t.deepEqual(afterLeaving.slice(confirmed + 1).filter((event) => event.topic === BOOK || event.topic === TRADE), [], `nothing of ${INSTRUMENT} after it was left`);
  t.is(new URL(page.url()).searchParams.get('depth'), other);

  await page.click('#depth-close');
  await page.locator('#depth').waitFor({ state: 'hidden', timeout: 5_000 });
  await unsubscribed(page, framesSent, framesReceived, [`book.${other}`, `trade.${other}`]);
  t.is(new URL(page.url()).searchParams.get('depth'), null, 'closed: the address no longer names it');
  t.deepEqual(errors, []);
  await page.context().close();
});

/** What the size bar check reads in the page, typed here (no DOM types outside src/page). */
interface StyleGlobals {
  getComputedStyle(element: unknown, pseudo?: string): { getPropertyValue(name: string): string; readonly width: string };
}

/** Waits (bounded) until the page unsubscribed `topics` and the gateway confirmed it. */
async function unsubscribed(page: Page, framesSent: readonly string[], framesReceived: readonly string[], topics: readonly string[]): Promise<void> {
  const sent = () => framesSent.some((text) => {
    const request = JSON.parse(text) as { op: string; topics?: string[] };
    return request.op === 'unsubscribe' && request.topics?.join() === topics.join();
  });
  const confirmed = () => framesReceived.some((text) => (JSON.parse(text) as { type: string; topics?: string[] }[]).some((event) => event.type === 'unsubscribed' && event.topics?.join() === topics.join()));
  for (let wait = 0; !(sent() && confirmed()); wait++) {
    if (wait === 100) throw new Error(`no confirmed unsubscribe of ${topics.join(' ')}: ${framesSent.join(' ')}`);
    await page.waitForTimeout(50);
  }
}

test.serial('opened by ?depth=, the depth view stays the source\'s book across a gateway restart: after the reconnect the ladder again equals the source\'s book', async (t) => {
  const source = new Source();
  t.teardown(() => source.client.close());
  await source.subscribe();
  const { page, errors } = await openTicker(browser, `http://127.0.0.1:${port}/?depth=${INSTRUMENT}`);
  await waitForLadder(page, BOOK, 5_000);
  t.false(await page.isHidden('#depth'));
  const before = await ladderMatchesSource(t, page, source);

  t.is((await gateway.stop('SIGINT')).code, 0, 'the gateway exits 0 on SIGINT');
  await waitForConnection(page, 'reconnecting', 5_000);
  gateway = (await startGateway(fabric, port)).gateway;
  await waitForConnection(page, 'live', 15_000);
  await waitForLadder(page, BOOK, 15_000, before);
  const after = await ladderMatchesSource(t, page, source);
  t.is(after.epoch, before.epoch, 'the feed did not restart: the same epoch, later records');
  await tradesMatchSource(t, page, source, 10);
  // Chromium reports each refused connection attempt while the gateway is away; nothing else.
  t.deepEqual(errors.filter((text) => !/WebSocket connection to '.*' failed/.test(text)), []);
  await page.context().close();
});
