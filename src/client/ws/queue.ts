/**
 * The buffer between the client and one async-iterator reader: values are kept in order
 * until read. `end()` finishes the iteration once the buffered values are read; `fail()`
 * rejects the next read after them. Breaking out of `for await` detaches the reader.
 */
export class IteratorQueue<T> implements AsyncIterableIterator<T> {
  private items: T[] = [];
  private head = 0;
  private reader: { resolve: (result: IteratorResult<T>) => void; reject: (err: Error) => void } | undefined;
  private done = false;
  private failure: Error | undefined;

  constructor(private readonly onReturn: (queue: IteratorQueue<T>) => void) {}

  /** Values buffered and not yet read. */
  get pending(): number {
    return this.items.length - this.head;
  }

  push(value: T): void {
    if (this.done) return;
    if (this.reader !== undefined) {
      const { resolve } = this.reader;
      this.reader = undefined;
      resolve({ value, done: false });
      return;
    }
    this.items.push(value);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.items.length) {
      const value = this.items[this.head++]!;
      if (this.head === this.items.length) {
        this.items = [];
        this.head = 0;
      }
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
    this.onReturn(this);
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    this.reader?.resolve({ value: undefined, done: true });
    this.reader = undefined;
  }

  fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    if (this.reader !== undefined) {
      this.reader.reject(err);
      this.reader = undefined;
    } else {
      this.failure = err;
    }
  }
}
