/** The part of a zeromq.js socket a SendQueue needs. */
export interface SendTarget {
  send(message: Buffer[]): Promise<void>;
}

/**
 * zeromq.js allows one pending send per socket (a second rejects with EBUSY), so every
 * send goes through one queue per socket. The queue is bounded: when it is full the newest
 * message is refused and counted, never buffered without limit.
 */
export class SendQueue {
  private pending: (readonly Buffer[])[] = [];
  /** Queued and not yet handed to the socket, including the batch being sent. */
  private queued = 0;
  /**
   * Set before drain() starts and cleared in its finally block: drain() can run to completion
   * synchronously (a send that throws at once), before its promise is even assigned.
   */
  private sending = false;
  private draining: Promise<void> = Promise.resolve();
  /** Messages refused because the queue was full. */
  dropped = 0;
  /** Messages the socket refused (closed socket, ...). */
  failed = 0;

  constructor(
    private readonly target: SendTarget,
    private readonly limit: number,
    private readonly onError: (err: Error) => void = () => {},
  ) {}

  get size(): number {
    return this.queued;
  }

  /** Queues a message; false when the queue is full and the message was dropped. */
  push(message: readonly Buffer[]): boolean {
    if (this.queued >= this.limit) {
      this.dropped++;
      return false;
    }
    this.pending.push(message);
    this.queued++;
    if (!this.sending) {
      this.sending = true;
      this.draining = this.drain();
    }
    return true;
  }

  /** Resolves once everything queued so far has been handed to the socket. */
  async flushed(): Promise<void> {
    while (this.sending) await this.draining;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        // Swap instead of shift(): shift is O(n) on a long array.
        const batch = this.pending;
        this.pending = [];
        for (const message of batch) {
          try {
            // zeromq.js never mutates the array; its signature just is not readonly.
            await this.target.send(message as Buffer[]);
          } catch (err) {
            this.failed++;
            this.onError(err as Error);
          }
          this.queued--;
        }
      }
    } finally {
      this.sending = false;
    }
  }
}
