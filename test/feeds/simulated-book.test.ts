import test from 'ava';
import fc from 'fast-check';
import { decimalStep, stepsToDecimal } from '../../src/feeds/simulated/decimal.js';
import { DEFAULT_INSTRUMENTS, MarketSimulator, SimulatedFeed, type Instrument } from '../../src/feeds/simulated/index.js';
import {
  OrderBook, bookTopic, parseTopic, validateBookRecord, validateTradeRecord, type BookLevel, type BookRecord, type TickRecord, type TradeRecord,
} from '../../src/wire/index.js';
import { holds } from '../wire/_helpers.js';

const EXCH_TS = 1764070000123456;

/** The defaults and instruments whose plain float products are noisy (0.1 * 3, 0.07 * 3) or tiny. */
const INSTRUMENTS: readonly Instrument[] = [
  ...DEFAULT_INSTRUMENTS.slice(0, 6),
  ...DEFAULT_INSTRUMENTS.slice(25, 28),
  { venue: 'T', symbol: 'TENTHS', tickSize: 0.1, startPrice: 0.3, lotSize: 0.1 },
  { venue: 'T', symbol: 'SEVENTHS', tickSize: 0.07, startPrice: 0.21, lotSize: 0.07 },
  { venue: 'T', symbol: 'TINY', tickSize: 0.00000001, startPrice: 0.00001234, lotSize: 1000 },
];
const BY_SYMBOL = new Map(INSTRUMENTS.map((i) => [i.symbol, i]));

/** Whether `value` is exactly the decimal of a whole number of `step`s, as the simulator writes it (no float noise). */
function onGrid(value: number, step: number): boolean {
  const decimal = decimalStep(step);
  return value === stepsToDecimal(Math.round((value * decimal.scale) / decimal.units), decimal);
}

/** Why a step's book, trade and tick do not agree with each other and with the book a subscriber keeps, or undefined. */
function stepProblem(book: OrderBook, record: BookRecord, tick: TickRecord, trade: TradeRecord | undefined, depth: number, first: boolean): string | undefined {
  const instrument = BY_SYMBOL.get(tick.symbol)!;
  validateBookRecord(parseTopic(bookTopic(record.venue, record.symbol)), record);
  if (first !== (record.action === 'snapshot')) return `${tick.symbol}: ${record.action} as ${first ? 'first' : 'later'} record`;
  if (record.exchTs !== tick.exchTs) return `${tick.symbol}: book exchTs ${record.exchTs} is not the tick's ${tick.exchTs}`;
  if (record.action === 'update') {
    for (const side of ['bids', 'asks'] as const) {
      const held = new Map(book[side]());
      for (const [price, size] of record[side]) {
        if (held.get(price) === size || (size === 0 && !held.has(price))) return `${tick.symbol}: update lists ${side} [${price}, ${size}], which did not change`;
      }
    }
  }
  for (const [price, size] of [...record.bids, ...record.asks] as BookLevel[]) {
    if (!onGrid(price, instrument.tickSize) || !onGrid(size, instrument.lotSize)) return `${tick.symbol}: level [${price}, ${size}] is off the grid`;
  }
  if (!book.apply(record)) return `${tick.symbol}: checksum ${record.checksum} does not match the book the records build`;
  const { bids, asks } = book.depth;
  if (bids > depth || asks !== depth) return `${tick.symbol}: ${bids} bids and ${asks} asks, expected ${depth} levels per side`;
  const { bids: [bestBid], asks: [bestAsk] } = book.top(1);
  if (bestBid![0] !== tick.bid || bestBid![1] !== tick.bidSize) return `${tick.symbol}: best bid ${bestBid} is not the tick's ${tick.bid} x ${tick.bidSize}`;
  if (bestAsk![0] !== tick.ask || bestAsk![1] !== tick.askSize) return `${tick.symbol}: best ask ${bestAsk} is not the tick's ${tick.ask} x ${tick.askSize}`;
  if (trade === undefined) return undefined;
  validateTradeRecord(parseTopic(`trade.${trade.venue}.${trade.symbol}`), trade);
  const [price, displayed] = trade.side === 'buy' ? [tick.ask, tick.askSize!] : [tick.bid, tick.bidSize!];
  if (trade.price !== price || !(trade.size > 0 && trade.size <= displayed)) return `${tick.symbol}: ${trade.side} ${trade.size} at ${trade.price} against ${price} x ${displayed}`;
  if (trade.price !== tick.last || trade.size !== tick.lastSize || trade.exchTs !== tick.exchTs) return `${tick.symbol}: the tick's last is not the trade`;
  return undefined;
}

test('property: each book, fed its records, matches its checksums, holds the tick\'s best levels, stays on the grid; updates list only changes; trades meet the quote', (t) => {
  holds(t, fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 1, max: 60 }), (seed, depth) => {
    const market = new MarketSimulator(INSTRUMENTS, seed, { bookDepth: depth, trades: true });
    const books = new Map<string, OrderBook>();
    const tradeIds = new Map<string, number>();
    for (let n = 0; n < 3000; n++) {
      const { tick, book, trade } = market.step(EXCH_TS + n);
      const first = !books.has(tick.symbol);
      if (first) books.set(tick.symbol, new OrderBook());
      const problem = stepProblem(books.get(tick.symbol)!, book!, tick, trade, depth, first);
      if (problem !== undefined) throw new Error(`seed ${seed}, depth ${depth}, step ${n}: ${problem}`);
      if (trade !== undefined) {
        const id = Number(trade.tradeId);
        if (!(id > (tradeIds.get(tick.symbol) ?? 0))) throw new Error(`${tick.symbol}: tradeId ${trade.tradeId} repeats or goes back`);
        tradeIds.set(tick.symbol, id);
      }
    }
    return tradeIds.size === INSTRUMENTS.length;
  }), { numRuns: 15 });
});

test('the book a subscriber builds from the updates is the simulator\'s whole book: a twin resynced before every step snapshots it', (t) => {
  const options = { bookDepth: 50, trades: true };
  const updating = new MarketSimulator(INSTRUMENTS, 11, options);
  const snapshotting = new MarketSimulator(INSTRUMENTS, 11, options);
  const books = new Map<string, OrderBook>();
  let mismatches = 0;
  for (let n = 0; n < 5000; n++) {
    snapshotting.resyncBooks();
    const step = updating.step(EXCH_TS + n);
    const twin = snapshotting.step(EXCH_TS + n);
    t.deepEqual(twin.tick, step.tick);
    const book = books.get(step.tick.symbol) ?? new OrderBook();
    books.set(step.tick.symbol, book);
    book.apply(step.book!);
    const whole = twin.book!;
    if (whole.action !== 'snapshot' || whole.checksum !== step.book!.checksum) mismatches++;
    else if (JSON.stringify(book.toSnapshot(whole.venue, whole.symbol, whole.exchTs)) !== JSON.stringify(whole)) mismatches++;
  }
  t.is(mismatches, 0);
});

test('the same seed gives the same books and trades; books and trades leave the ticks of a seed as they were', (t) => {
  const run = (seed: number, options: { bookDepth: number; trades: boolean }) => {
    const market = new MarketSimulator(DEFAULT_INSTRUMENTS, seed, options);
    return Array.from({ length: 5000 }, (_, n) => market.step(EXCH_TS + n));
  };
  const full = run(3, { bookDepth: 20, trades: true });
  t.deepEqual(run(3, { bookDepth: 20, trades: true }), full);
  t.notDeepEqual(run(4, { bookDepth: 20, trades: true }).map((s) => s.book), full.map((s) => s.book));
  const ticksOnly = run(3, { bookDepth: 0, trades: false });
  t.deepEqual(ticksOnly.map((s) => s.tick), full.map((s) => s.tick));
  t.true(ticksOnly.every((s) => s.book === undefined && s.trade === undefined), 'books and trades are off by default and at depth 0');
  t.deepEqual(run(3, { bookDepth: 5, trades: true }).map((s) => s.tick), full.map((s) => s.tick), 'the depth changes no tick');
});

test('a book near a price of one tick stops its bids at that tick', (t) => {
  const market = new MarketSimulator([{ venue: 'T', symbol: 'PENNY', tickSize: 0.01, startPrice: 0.03, lotSize: 1 }], 5, { bookDepth: 50 });
  const book = new OrderBook();
  for (let n = 0; n < 2000; n++) t.true(book.apply(market.step(EXCH_TS + n).book!));
  t.true(book.bids().every(([price]) => price >= 0.01));
  t.true(book.depth.bids <= 50 && book.depth.asks === 50);
});

test('the simulator refuses a book depth that is not a whole number >= 0', (t) => {
  for (const bookDepth of [-1, 1.5, Number.NaN]) {
    t.throws(() => new MarketSimulator(DEFAULT_INSTRUMENTS, 1, { bookDepth }), { instanceOf: RangeError, message: /book depth/ });
  }
});

test('the feed sends a step book first, then trade, then tick; a refused book record and a new run each bring a snapshot', async (t) => {
  const instrument: Instrument = { venue: 'T', symbol: 'ONE', tickSize: 0.01, startPrice: 100, lotSize: 1 };
  const feed = new SimulatedFeed({ instruments: [instrument], rate: 2000, seed: 9, bookDepth: 10, trades: true });
  const sent: string[] = [];
  let refuse = 5;
  const sink = {
    tick: () => void sent.push('tick'),
    trade: () => void sent.push('trade'),
    book: (record: BookRecord) => {
      sent.push(record.action);
      return --refuse !== 0;
    },
  };
  const tickCount = () => sent.filter((s) => s === 'tick').length;
  await feed.start(sink);
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => tickCount() >= 50 && (clearInterval(timer), resolve()), 5);
  });
  await feed.stop();
  const text = sent.join(' ');
  t.regex(text, /^snapshot (trade )?tick update/);
  t.true(text.split(/ ?tick ?/).filter(Boolean).every((step) => /^(snapshot|update)( trade)?$/.test(step)), text);
  const actions = sent.filter((s) => s === 'snapshot' || s === 'update');
  t.deepEqual(actions.slice(0, 6), ['snapshot', 'update', 'update', 'update', 'update', 'snapshot'], 'the fifth was refused');
  sent.length = 0;
  await feed.start(sink);
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => tickCount() >= 1 && (clearInterval(timer), resolve()), 5);
  });
  await feed.stop();
  t.is(sent[0], 'snapshot', 'a new run opens the book afresh');
});
