/**
 * Waits for conditions over state that changes as events arrive, without polling: whoever
 * changes the state calls check(), which resolves every waiter whose condition now holds.
 */
export class Conditions {
  private readonly waiters = new Set<{ done: () => boolean; resolve: () => void }>();

  /** Resolves once `done()` holds; rejects after `timeoutMs`, naming `what()` was awaited. */
  until(done: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        done,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Resolves the waiters whose condition now holds. */
  check(): void {
    for (const waiter of this.waiters) {
      if (!waiter.done()) continue;
      this.waiters.delete(waiter);
      waiter.resolve();
    }
  }
}
