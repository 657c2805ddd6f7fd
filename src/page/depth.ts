import type { BookResync, TickfanClient, TickfanError, Update } from '../client/ws/index.js';
import { depthTopics, type DepthTopics } from './instrument.js';
import { Ladder } from './ladder.js';
import { TradeTape } from './trades.js';

export interface DepthElements {
  readonly panel: HTMLElement;
  readonly title: HTMLElement;
  /** What the panel waits for, or what went wrong; empty while the book is shown. */
  readonly state: HTMLElement;
  readonly ladder: HTMLTableElement;
  readonly trades: HTMLTableSectionElement;
}

/**
 * The depth view of one chosen instrument: its book's top levels (Ladder) and its recent trades
 * (TradeTape). It subscribes the instrument's book and trade topics alone, and leaves them when
 * another instrument is chosen or the view closes. Like the board, it records what comes and
 * draws in `render`, once per animation frame; the book is read from the SDK then (client.book),
 * which has applied and checked every record up to that moment.
 */
export class DepthPanel {
  private chosen: { instrument: string; topics: DepthTopics } | undefined;
  private problem = '';
  /** Books of the chosen topic the SDK dropped (checksum mismatch) and took afresh. */
  private resyncs = 0;
  private readonly ladder: Ladder;
  private readonly tape: TradeTape;

  constructor(private readonly client: TickfanClient, private readonly elements: DepthElements, private readonly requestFrame: () => void) {
    this.ladder = new Ladder(elements.ladder);
    this.tape = new TradeTape(elements.trades);
    client.on('book', ({ topic }) => {
      if (topic === this.chosen?.topics.book) requestFrame();
    });
    client.on('bookResync', (resync) => this.onResync(resync));
    client.on('update', (update) => this.onUpdate(update));
  }

  /** The instrument shown, if any. */
  get instrument(): string | undefined {
    return this.chosen?.instrument;
  }

  /**
   * Shows `instrument` (undefined: closes the view). The SDK sends requests in call order, so
   * leaving the previous topics and subscribing the new ones take effect in that order however
   * quickly choices follow one another; events of a topic no longer chosen are ignored meanwhile.
   */
  choose(instrument: string | undefined): void {
    if (instrument !== undefined && instrument === this.chosen?.instrument) return;
    const previous = this.chosen;
    const topics = instrument === undefined ? undefined : depthTopics(instrument);
    this.chosen = instrument === undefined || typeof topics !== 'object' ? undefined : { instrument, topics };
    this.problem = typeof topics === 'string' ? topics : '';
    this.resyncs = 0;
    this.tape.clear();
    this.requestFrame();
    if (previous !== undefined) {
      const left = [previous.topics.book, previous.topics.trade];
      this.client.unsubscribe(left).catch((err: TickfanError) => console.warn(`tickfan: unsubscribe ${left.join(' ')}: ${err.message}`));
    }
    if (this.chosen === undefined) return;
    const { book, trade } = this.chosen.topics;
    const failed = (err: TickfanError) => {
      if (this.chosen?.topics.book !== book) return;
      this.problem = err.message;
      this.requestFrame();
    };
    this.client.subscribe(book, { snapshot: true }).catch(failed);
    // Every trade, not the newest one per frame: a conflating gateway would leave trades out.
    this.client.subscribe(trade, { snapshot: true, conflate: false }).catch(failed);
  }

  render(): void {
    const { panel, title, state, ladder } = this.elements;
    const shown = this.chosen !== undefined || this.problem !== '';
    if (panel.hidden === shown) panel.hidden = !shown;
    const instrument = this.chosen?.instrument ?? '';
    if (title.textContent !== instrument) title.textContent = instrument;
    const book = this.chosen === undefined ? undefined : this.client.book(this.chosen.topics.book);
    const text = this.problem || (this.chosen === undefined || book !== undefined ? '' : this.resyncs > 0 ? 'book resync: waiting for a fresh snapshot…' : 'waiting for the book…');
    if (state.textContent !== text) state.textContent = text;
    this.ladder.render(this.chosen?.topics.book ?? '', book);
    this.tape.render();
    const resyncs = String(this.resyncs);
    if (ladder.dataset.resyncs !== resyncs) ladder.dataset.resyncs = resyncs;
  }

  private onUpdate(update: Update): void {
    if (update.topic !== this.chosen?.topics.trade) return;
    this.tape.add(update);
    this.requestFrame();
  }

  private onResync(resync: BookResync): void {
    if (resync.topic !== this.chosen?.topics.book) return;
    this.resyncs++;
    console.warn(`tickfan: ${resync.message}; taking the book afresh`);
    this.requestFrame();
  }
}
