/**
 * Turns of a schedule are at least this far apart; with more books than fit, a turn takes several,
 * so a thousand books cost a timer every few milliseconds rather than a thousand timers.
 */
const MIN_TURN_MS = 10;

/**
 * When each book of a source republishes a snapshot: a late joiner, or a snapshot service that
 * joined mid-stream, can rebuild a book only from a snapshot record. Every book is due once per
 * `intervalMs`, the books spread evenly over it (round robin), so they do not all go at once.
 */
export class SnapshotSchedule<K> {
  private timer: NodeJS.Timeout | undefined;
  private next = 0;

  /** `intervalMs` 0: never. `due` runs on the timer: pass it guarded (AdapterMonitor.guard). */
  constructor(
    private readonly intervalMs: number,
    private readonly books: readonly K[],
    private readonly due: (book: K) => void,
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.books.length === 0 || this.timer !== undefined) return;
    const count = this.books.length;
    const perTurn = Math.max(1, Math.ceil((count * MIN_TURN_MS) / this.intervalMs));
    this.timer = setInterval(() => {
      for (let i = 0; i < perTurn; i++) {
        const book = this.books[this.next]!;
        this.next = (this.next + 1) % count;
        this.due(book);
      }
    }, (this.intervalMs * perTurn) / count);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
