/**
 * The buffer between an SDK and one async-iterator reader, shared by both SDKs (browser-safe):
 * values are kept in order until read, at most `limit` of them. What happens to a reader that
 * falls `limit` behind is the owner's policy:
 * - `wait`: push() returns a promise that resolves once the reader made room (or the queue
 *   ended), so a producer that awaits it slows down to the reader's pace;
 * - `fail`: the queue fails with `overflowError()` at once, dropping what it held (stale by then),
 *   and detaches, so a reader that stopped never costs more than `limit` values.
 *
 * `end()` finishes the iteration once the buffered values are read; `fail(err)` rejects the next
 * read after them. Breaking out of `for await` (return()) detaches the reader.
 */
export interface BoundedQueueOptions {
  /** Values held unread at most (>= 1). */
  readonly limit: number;
  readonly whenFull: 'wait' | 'fail';
  /** `fail`: the error the reader gets. */
  readonly overflowError?: (limit: number) => Error;
  /** Called once when the queue no longer takes values from its producer: return(), or an overflow under `fail`. */
  readonly onDetach?: () => void;
}

export class BoundedQueue<T> implements AsyncIterableIterator<T> {
  private items: T[] = [];
  private head = 0;
  private reader: { resolve: (result: IteratorResult<T>) => void; reject: (err: Error) => void } | undefined;
  private room: { promise: Promise<void>; resolve: () => void } | undefined;
  private done = false;
  private detached = false;
  private failure: Error | undefined;

  constructor(private readonly options: BoundedQueueOptions) {
    if (!(options.limit >= 1)) throw new RangeError(`a queue's limit must be at least 1, not ${options.limit}`);
  }

  /** Values buffered and not yet read. */
  get pending(): number {
    return this.items.length - this.head;
  }

  /**
   * Queues a value (ignored once the queue ended). Returns undefined when there is room for
   * more; under `wait`, a promise when the reader is `limit` behind, resolved once it is not.
   */
  push(value: T): Promise<void> | undefined {
    if (this.done) return undefined;
    if (this.reader !== undefined) {
      const { resolve } = this.reader;
      this.reader = undefined;
      resolve({ value, done: false });
      return undefined;
    }
    if (this.options.whenFull === 'fail' && this.pending >= this.options.limit) {
      this.overflow();
      return undefined;
    }
    this.items.push(value);
    if (this.options.whenFull === 'wait' && this.pending >= this.options.limit) return this.waitForRoom();
    return undefined;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.items.length) {
      const value = this.items[this.head++]!;
      if (this.head === this.items.length) {
        this.items = [];
        this.head = 0;
      }
      if (this.pending < this.options.limit) this.makeRoom();
      return Promise.resolve({ value, done: false });
    }
    if (this.failure !== undefined) {
      const failure = this.failure;
      this.failure = undefined;
      return Promise.reject(failure);
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.reader = { resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.items = [];
    this.head = 0;
    this.end();
    this.detach();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    this.makeRoom();
    this.reader?.resolve({ value: undefined, done: true });
    this.reader = undefined;
  }

  fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    this.makeRoom();
    if (this.reader !== undefined) {
      this.reader.reject(err);
      this.reader = undefined;
    } else {
      this.failure = err;
    }
  }

  private overflow(): void {
    const { limit, overflowError } = this.options;
    this.items = [];
    this.head = 0;
    this.fail(overflowError?.(limit) ?? new Error(`the reader fell ${limit} values behind`));
    this.detach();
  }

  private waitForRoom(): Promise<void> {
    if (this.room === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.room = { promise, resolve };
    }
    return this.room.promise;
  }

  private makeRoom(): void {
    this.room?.resolve();
    this.room = undefined;
  }

  private detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.options.onDetach?.();
  }
}
