import type { TradeRecord } from '../wire/record.js';
import type { Update } from '../client/ws/index.js';
import { formatPrice, formatSize, formatTime } from './format.js';

/** Trades the tape shows, newest first. */
export const TRADES_SHOWN = 20;

/**
 * The recent trades of one instrument. `add` runs per trade and only records it; `render` (once per
 * animation frame) puts a row per new trade on top and drops the oldest below TRADES_SHOWN, so a
 * row, once drawn, is never written again. Each row has data-trade-id, data-side, data-price and
 * data-size.
 */
export class TradeTape {
  /** Trades since the last frame, oldest first: at most the TRADES_SHOWN newest, older ones would not show. */
  private pending: Update[] = [];
  private cleared = false;

  constructor(private readonly body: HTMLTableSectionElement) {}

  add(update: Update): void {
    this.pending.push(update);
    if (this.pending.length > TRADES_SHOWN) this.pending.shift();
  }

  /** Empties the tape (another instrument), in the next frame. */
  clear(): void {
    this.pending = [];
    this.cleared = true;
  }

  render(): void {
    if (this.cleared) {
      this.body.replaceChildren();
      this.cleared = false;
    }
    if (this.pending.length === 0) return;
    const rows = this.pending.map(tradeRow).reverse();
    this.pending = [];
    this.body.prepend(...rows);
    while (this.body.rows.length > TRADES_SHOWN) this.body.rows[this.body.rows.length - 1]!.remove();
  }
}

function tradeRow(update: Update): HTMLTableRowElement {
  // The topic's records are trades (PROTOCOL.md section 8); the SDK's Update types every record as a tick's.
  const trade = update.record as unknown as TradeRecord;
  const row = document.createElement('tr');
  row.dataset.tradeId = trade.tradeId;
  row.dataset.side = trade.side;
  row.dataset.price = String(trade.price);
  row.dataset.size = String(trade.size);
  const cell = (className: string, text: string) => {
    const td = row.insertCell();
    td.className = className;
    td.textContent = text;
  };
  cell('time', formatTime(trade.exchTs ?? update.ts));
  cell('side', trade.side);
  cell('num price', formatPrice(trade.price));
  cell('num size', formatSize(trade.size));
  return row;
}
