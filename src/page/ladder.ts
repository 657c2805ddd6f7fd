import type { BookLevel, BookView } from '../client/ws/index.js';
import { CHECKSUM_DEPTH } from '../wire/checksum.js';
import { formatPrice, formatSize } from './format.js';

/**
 * Levels drawn per side: the depth the checksum covers, so the drawn ladder can be checked
 * against the checksum of the record it was drawn at (data-checksum).
 */
export const LADDER_DEPTH = CHECKSUM_DEPTH;

type Side = 'bid' | 'ask';

/** One level's row: its price, size and size bar, each written only when it changed. */
class LevelRow {
  readonly element: HTMLTableRowElement;
  private price: number | undefined;
  private size: number | undefined;
  private fill = '0';
  private readonly priceCell: HTMLTableCellElement;
  private readonly sizeCell: HTMLTableCellElement;

  constructor(side: Side) {
    this.element = document.createElement('tr');
    this.element.className = side;
    this.element.dataset.side = side;
    this.priceCell = this.element.insertCell();
    this.priceCell.className = 'num price';
    this.sizeCell = this.element.insertCell();
    this.sizeCell.className = 'num size';
    this.element.insertCell().className = 'bar';
  }

  /** Shows `level` (none: an empty row, the book is shallower), its bar as a share of `largest`. */
  show(level: BookLevel | undefined, largest: number): void {
    const [price, size] = level ?? [undefined, undefined];
    if (price !== this.price) {
      this.price = price;
      this.priceCell.textContent = price === undefined ? '' : formatPrice(price);
      setData(this.element, 'price', price);
    }
    if (size !== this.size) {
      this.size = size;
      this.sizeCell.textContent = size === undefined ? '' : formatSize(size);
      setData(this.element, 'size', size);
    }
    // Three decimals: finer than a pixel of the bar, and fewer style writes as sizes wobble.
    const fill = size === undefined || largest === 0 ? '0' : (size / largest).toFixed(3);
    if (fill !== this.fill) {
      this.fill = fill;
      // A CSSOM write, which the page's CSP (no 'unsafe-inline' styles) allows, unlike a style attribute in markup.
      this.element.style.setProperty('--fill', fill);
    }
  }
}

function setData(element: HTMLElement, name: 'price' | 'size', value: number | undefined): void {
  if (value === undefined) delete element.dataset[name];
  else element.dataset[name] = String(value);
}

/**
 * The top LADDER_DEPTH levels of a book as a price ladder: asks above (best lowest, next to the
 * spread), bids below (best first). Rows are made once; render writes only what changed since the
 * book it last drew. The table's data-topic, data-epoch, data-seq and data-checksum say which book
 * at which record it shows; each level row has data-side, data-price and data-size.
 */
export class Ladder {
  private readonly asks: LevelRow[] = [];
  private readonly bids: LevelRow[] = [];
  private readonly spread: HTMLTableCellElement;
  private drawn: { book: BookView | undefined; epoch: number; seq: number } = { book: undefined, epoch: 0, seq: 0 };

  constructor(private readonly table: HTMLTableElement) {
    const body = table.tBodies[0]!;
    for (let rank = 0; rank < LADDER_DEPTH; rank++) {
      this.asks.push(new LevelRow('ask'));
      this.bids.push(new LevelRow('bid'));
    }
    const spreadRow = document.createElement('tr');
    spreadRow.className = 'spread';
    this.spread = spreadRow.insertCell();
    this.spread.colSpan = 3;
    body.append(...this.asks.map((row) => row.element).reverse(), spreadRow, ...this.bids.map((row) => row.element));
  }

  /** Draws `book` as it stands now (or an empty ladder without one), unless it is the book and record already drawn. */
  render(topic: string, book: BookView | undefined): void {
    const { drawn } = this;
    if (book === drawn.book && (book === undefined || (book.epoch === drawn.epoch && book.seq === drawn.seq)) && this.table.dataset.topic === topic) return;
    this.drawn = { book, epoch: book?.epoch ?? 0, seq: book?.seq ?? 0 };
    const { bids, asks } = book?.top(LADDER_DEPTH) ?? { bids: [], asks: [] };
    let largest = 0;
    for (const [, size] of [...bids, ...asks]) largest = Math.max(largest, size);
    this.bids.forEach((row, rank) => row.show(bids[rank], largest));
    this.asks.forEach((row, rank) => row.show(asks[rank], largest));
    const spread = bids[0] !== undefined && asks[0] !== undefined ? `spread ${formatPrice(asks[0][0] - bids[0][0])}` : '';
    if (this.spread.textContent !== spread) this.spread.textContent = spread;
    const data = this.table.dataset;
    data.topic = topic;
    if (book === undefined) {
      delete data.epoch;
      delete data.seq;
      delete data.checksum;
    } else {
      data.epoch = String(book.epoch);
      data.seq = String(book.seq);
      data.checksum = String(book.checksum());
    }
  }
}
