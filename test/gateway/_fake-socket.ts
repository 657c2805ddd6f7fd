/** A stand-in for a `ws` socket in the Session tests (not a test file itself). */

/** What the tests read of a sent event. */
export interface SentEvent {
  type: string;
  topic?: string;
  epoch?: number;
  seq?: number;
  n?: number;
  data?: unknown;
}

/** A stand-in for a ws socket: records frames; the test sets bufferedAmount to play a full or drained socket. */
export class FakeSocket {
  bufferedAmount = 0;
  readonly frames: string[] = [];
  closed: { code: number; reason: string } | undefined;
  /** Bytes each sent frame adds to bufferedAmount (0: the peer reads at once). */
  growPerFrame = 0;

  send(data: Buffer, options: { binary: boolean }): void {
    if (this.closed) throw new Error('send after close');
    if (options.binary) throw new Error('frames must be text frames');
    this.frames.push(data.toString('utf8'));
    this.bufferedAmount += this.growPerFrame;
  }

  close(code: number, reason: string): void {
    this.closed ??= { code, reason };
  }

  /** Every event sent, frames flattened, parsed. */
  events<E = SentEvent>(): E[] {
    return this.frames.flatMap((frame) => JSON.parse(frame) as E[]);
  }
}
