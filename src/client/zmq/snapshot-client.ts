import { Dealer } from 'zeromq';
import { decodeMessage, WireError, type DecodedMessage } from '../../wire/index.js';

export interface SnapshotClientOptions {
  /** Snapshot services in failover order. */
  readonly endpoints: readonly string[];
  /** How long one service may take to answer before the next is tried. */
  readonly timeoutMs: number;
}

/** An `ERR` reply: `code` is BAD_REQUEST, GONE or TOO_LARGE (PROTOCOL.md section 4). */
export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** No configured snapshot service answered in time. */
export class SnapshotUnavailable extends Error {
  override readonly name = 'SnapshotUnavailable';
}

/**
 * Requests to the snapshot services, one at a time, over a DEALER (it adds the empty
 * delimiter itself). A service that does not answer within the timeout is abandoned for
 * the next: its socket is closed, so a late reply can never be taken for the answer to a
 * later request.
 */
export class SnapshotClient {
  /** Times a service did not answer and the next one was tried. */
  failovers = 0;
  private current = 0;
  private socket: Dealer | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: SnapshotClientOptions) {
    if (options.endpoints.length === 0) throw new Error('SnapshotClient needs at least one endpoint');
  }

  /** The newest record of every topic starting with `prefix`, sorted by topic. */
  async snapshot(prefix: string): Promise<DecodedMessage[]> {
    return this.records(await this.request(['SNAPSHOT', prefix]));
  }

  /** Retained messages of `topic` in `epoch` from `fromSeq` on; SnapshotError GONE when they are not retained. */
  async replay(topic: string, epoch: number, fromSeq: number): Promise<DecodedMessage[]> {
    return this.records(await this.request(['REPLAY', topic, String(epoch), String(fromSeq)]));
  }

  async ping(): Promise<void> {
    const [reply] = await this.request(['PING']);
    if (reply?.toString() !== 'PONG') throw new Error(`PING answered ${reply?.toString()}`);
  }

  close(): void {
    this.closed = true;
    this.socket?.close();
  }

  /** Sends one request, serialised behind any earlier one, failing over until a service answers. */
  request(body: readonly string[]): Promise<Buffer[]> {
    const result = this.queue.then(() => this.tryEach(body));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async tryEach(body: readonly string[]): Promise<Buffer[]> {
    const { endpoints } = this.options;
    for (let attempt = 0; attempt < endpoints.length; attempt++) {
      if (this.closed) throw new SnapshotUnavailable('the snapshot client is closed');
      const socket = this.connected();
      try {
        await socket.send(['', ...body]);
        const [, ...reply] = await socket.receive();
        return reply;
      } catch (err) {
        if ((err as { code?: string }).code !== 'EAGAIN') throw err;
        this.abandonCurrent();
      }
    }
    throw new SnapshotUnavailable(`no snapshot service answered within ${this.options.timeoutMs} ms (tried ${endpoints.join(', ')})`);
  }

  private connected(): Dealer {
    if (this.socket === undefined) {
      this.socket = new Dealer({ receiveTimeout: this.options.timeoutMs, sendTimeout: this.options.timeoutMs, linger: 0 });
      this.socket.connect(this.options.endpoints[this.current]!);
    }
    return this.socket;
  }

  private abandonCurrent(): void {
    this.socket?.close();
    this.socket = undefined;
    this.current = (this.current + 1) % this.options.endpoints.length;
    this.failovers++;
  }

  private records(reply: Buffer[]): DecodedMessage[] {
    const [status, second, third] = reply;
    if (status?.toString() === 'ERR') throw new SnapshotError(second?.toString() ?? '?', third?.toString() ?? '');
    const count = Number(second?.toString());
    if (status?.toString() !== 'OK' || !Number.isSafeInteger(count) || reply.length !== 2 + 3 * count) {
      throw new WireError('frame_count', `malformed snapshot reply: ${reply.length} frames, status ${status?.toString()}, count ${second?.toString()}`);
    }
    const messages: DecodedMessage[] = [];
    for (let i = 2; i < reply.length; i += 3) messages.push(decodeMessage(reply.slice(i, i + 3)));
    return messages;
  }
}
