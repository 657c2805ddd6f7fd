import type { TickRecord, Update } from '../client/ws/index.js';
import { formatChange, formatMs, formatPrice, formatVolume } from './format.js';
import { isNewer } from '../wire/order.js';

/** How long a cell glows after its price moved. */
const FLASH_MS = 700;
const FLASH_UP: Keyframe[] = [{ backgroundColor: 'rgba(34, 197, 94, 0.55)' }, { backgroundColor: 'rgba(34, 197, 94, 0)' }];
const FLASH_DOWN: Keyframe[] = [{ backgroundColor: 'rgba(239, 68, 68, 0.55)' }, { backgroundColor: 'rgba(239, 68, 68, 0)' }];

type Direction = 'up' | 'down';

/** A price cell and its running flash, restarted (not recreated) while the price keeps moving the same way. */
class PriceCell {
  private shown: number | undefined;
  private flash: { direction: Direction; animation: Animation } | undefined;

  constructor(readonly element: HTMLTableCellElement) {}

  show(value: number | undefined): void {
    if (value === this.shown) return;
    const previous = this.shown;
    this.shown = value;
    this.element.textContent = formatPrice(value);
    if (previous === undefined || value === undefined) return;
    const direction: Direction = value > previous ? 'up' : 'down';
    this.element.dataset.move = direction;
    if (this.flash?.direction === direction) {
      this.flash.animation.currentTime = 0;
      this.flash.animation.play();
      return;
    }
    this.flash?.animation.cancel();
    this.flash = { direction, animation: this.element.animate(direction === 'up' ? FLASH_UP : FLASH_DOWN, { duration: FLASH_MS, easing: 'ease-out' }) };
  }
}

/** One instrument: the newest update (applied at tick rate) and its cells (written at frame rate). */
class Row {
  readonly element: HTMLTableRowElement;
  epoch = 0;
  seq = 0;
  ts = 0;
  record: TickRecord | undefined;
  /** The price "change" is measured from: the first last (or mid) seen. */
  firstPrice: number | undefined;
  /** Updates since the rate was last sampled, and the rate then. */
  updatesSinceSample = 0;
  updatesPerSecond = 0;
  dirty = false;
  private readonly bid: PriceCell;
  private readonly ask: PriceCell;
  private readonly last: PriceCell;
  private readonly change: HTMLTableCellElement;
  private readonly volume: HTMLTableCellElement;
  private readonly rate: HTMLTableCellElement;
  private readonly age: HTMLTableCellElement;

  constructor(readonly topic: string, readonly venue: string, symbol: string) {
    this.element = document.createElement('tr');
    this.element.dataset.topic = topic;
    const cell = (className: string, text = '') => {
      const td = this.element.insertCell();
      td.className = className;
      td.textContent = text;
      return td;
    };
    cell('venue', venue);
    cell('symbol', symbol);
    this.bid = new PriceCell(cell('num bid'));
    this.ask = new PriceCell(cell('num ask'));
    this.last = new PriceCell(cell('num last'));
    this.change = cell('num change');
    this.volume = cell('num volume');
    this.rate = cell('num rate');
    this.age = cell('num age');
  }

  render(): void {
    const record = this.record!;
    this.element.dataset.epoch = String(this.epoch);
    this.element.dataset.seq = String(this.seq);
    this.bid.show(record.bid);
    this.ask.show(record.ask);
    this.last.show(record.last);
    const price = priceOf(record);
    this.change.textContent = formatChange(this.firstPrice, price);
    this.change.dataset.move = price === undefined || this.firstPrice === undefined || price === this.firstPrice ? '' : price > this.firstPrice ? 'up' : 'down';
    this.volume.textContent = formatVolume(record.volume);
    this.dirty = false;
  }

  /** The columns that change with time rather than with ticks. */
  renderClock(nowUs: number): void {
    this.rate.textContent = String(this.updatesPerSecond);
    this.age.textContent = formatMs(Math.max(0, (nowUs - this.ts) / 1000));
  }
}

function priceOf(record: TickRecord): number | undefined {
  if (record.last !== undefined) return record.last;
  if (record.bid !== undefined && record.ask !== undefined) return (record.bid + record.ask) / 2;
  return record.bid ?? record.ask;
}

/**
 * The table of instruments, sorted by topic. `apply` runs per update and only records it;
 * `render` (called once per animation frame) writes the cells of the rows that changed, so
 * the DOM work per frame is bounded by the number of rows, not by the tick rate.
 */
export class Board {
  /** Updates that were not newer than the row's (the ordering rule of wire/order.ts): must stay 0, the SDK drops them. */
  seqViolations = 0;
  updates = 0;
  private readonly rows = new Map<string, Row>();
  private readonly order: string[] = [];
  private readonly dirty = new Set<Row>();
  /** Elements of removed rows, still in the table until the next frame. */
  private detached: HTMLTableRowElement[] = [];
  /** Rows shown per venue. */
  private readonly venueRows = new Map<string, number>();

  constructor(private readonly body: HTMLTableSectionElement) {}

  get size(): number {
    return this.rows.size;
  }

  /** Whether a row of `venue` is shown. */
  showsVenue(venue: string): boolean {
    return this.venueRows.has(venue);
  }

  apply(update: Update): void {
    let row = this.rows.get(update.topic);
    if (row === undefined) {
      row = new Row(update.topic, update.record.venue, update.record.symbol);
      this.insert(row);
    } else if (!isNewer(row, update)) {
      this.seqViolations++;
      return;
    }
    row.epoch = update.epoch;
    row.seq = update.seq;
    row.ts = update.ts;
    row.record = update.record;
    row.firstPrice ??= priceOf(update.record);
    row.updatesSinceSample++;
    this.updates++;
    this.dirty.add(row);
  }

  /** Removes the rows of topics the filter no longer wants (from the table in the next frame). */
  retain(wanted: (topic: string) => boolean): void {
    for (const [topic, row] of this.rows) {
      if (wanted(topic)) continue;
      this.rows.delete(topic);
      this.dirty.delete(row);
      this.order.splice(this.positionOf(topic), 1);
      this.detached.push(row.element);
      const left = this.venueRows.get(row.venue)! - 1;
      if (left === 0) this.venueRows.delete(row.venue);
      else this.venueRows.set(row.venue, left);
    }
  }

  /** Writes what changed since the last frame: rows removed, added and updated. */
  render(): void {
    for (const element of this.detached) element.remove();
    this.detached = [];
    for (const row of this.dirty) {
      if (!row.element.isConnected) this.attach(row);
      row.render();
    }
    this.dirty.clear();
  }

  /** Rates and ages: every row, a few times a second. */
  renderClock(nowUs: number, elapsedSinceSampleMs: number | undefined): void {
    for (const row of this.rows.values()) {
      if (elapsedSinceSampleMs !== undefined) {
        row.updatesPerSecond = Math.round((row.updatesSinceSample * 1000) / elapsedSinceSampleMs);
        row.updatesSinceSample = 0;
      }
      row.renderClock(nowUs);
    }
  }

  /** Takes a new row into the model; its element joins the table in the next frame (attach). */
  private insert(row: Row): void {
    const position = this.positionOf(row.topic);
    this.order.splice(position, 0, row.topic);
    this.rows.set(row.topic, row);
    this.venueRows.set(row.venue, (this.venueRows.get(row.venue) ?? 0) + 1);
  }

  /** Puts a new row's element before the next row (in topic order) already in the table. */
  private attach(row: Row): void {
    let next: Row | undefined;
    for (let index = this.positionOf(row.topic) + 1; index < this.order.length && next === undefined; index++) {
      const candidate = this.rows.get(this.order[index]!)!;
      if (candidate.element.isConnected) next = candidate;
    }
    this.body.insertBefore(row.element, next?.element ?? null);
  }

  /** Where `topic` is, or would go, in the sorted order. */
  private positionOf(topic: string): number {
    let low = 0;
    let high = this.order.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.order[middle]! < topic) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
