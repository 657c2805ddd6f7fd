import { Dealer } from 'zeromq';
import type { CurveClientKeys } from '../../curve/index.js';
import {
  encodeSnapshotRequest, parseSnapshotReply, SnapshotCommand, SnapshotStatus, SNAPSHOT_RETRYABLE, WireError, type DecodedMessage, type RejectReason, SnapshotErrorCode, type SnapshotReply, type SnapshotRequest,
} from '../../wire/index.js';

export interface SnapshotClientOptions {
  /** Snapshot services in failover order. */
  readonly endpoints: readonly string[];
  /** How long one service may take to answer before the next is tried. */
  readonly timeoutMs: number;
  /** With CurveZMQ on the fabric (PROTOCOL.md section 7): the server's public key and this client's key pair. */
  readonly curve?: CurveClientKeys | undefined;
}

/** An `ERR` reply (PROTOCOL.md section 4); `retryable` says whether the same request may be sent again later. */
export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
  constructor(
    readonly code: SnapshotErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }

  get retryable(): boolean {
    return SNAPSHOT_RETRYABLE[this.code];
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
  /** Replies that broke the contract (PROTOCOL.md sections 3-4), by reason; each failed its request. */
  readonly rejected = new Map<RejectReason, number>();
  private current = 0;
  private socket: Dealer | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: SnapshotClientOptions) {
    if (options.endpoints.length === 0) throw new Error('SnapshotClient needs at least one endpoint');
  }

  /** The newest record of every topic starting with `prefix`, sorted by topic. */
  async snapshot(prefix: string): Promise<DecodedMessage[]> {
    return records(await this.ask({ command: SnapshotCommand.SNAPSHOT, prefix }));
  }

  /**
   * Retained messages of `topic` in `epoch` from `fromSeq` on; SnapshotError GONE when they are
   * not retained, UNAVAILABLE when the service has not caught up with `fromSeq` yet.
   */
  async replay(topic: string, epoch: number, fromSeq: number): Promise<DecodedMessage[]> {
    return records(await this.ask({ command: SnapshotCommand.REPLAY, topic, epoch, fromSeq }));
  }

  async ping(): Promise<void> {
    const reply = await this.ask({ command: SnapshotCommand.PING });
    if (reply.status === SnapshotStatus.ERR) throw new SnapshotError(reply.code, reply.text);
    if (reply.status !== SnapshotStatus.PONG) throw new WireError('reply', 'PING answered OK, expected PONG');
  }

  close(): void {
    this.closed = true;
    this.socket?.close();
  }

  /** Sends one request, serialised behind any earlier one, failing over until a service answers. */
  async ask(request: SnapshotRequest): Promise<SnapshotReply> {
    const frames = await this.request(encodeSnapshotRequest(request));
    let reply: SnapshotReply;
    try {
      reply = parseSnapshotReply(frames);
    } catch (err) {
      if (err instanceof WireError) this.rejected.set(err.reason, (this.rejected.get(err.reason) ?? 0) + 1);
      throw err;
    }
    // PROTOCOL.md section 4: on UNAVAILABLE a client "retries after a short delay or asks the
    // next service"; moving on does both, since the caller's retry then reaches the next one.
    if (reply.status === SnapshotStatus.ERR && reply.code === SnapshotErrorCode.UNAVAILABLE) this.moveOn();
    return reply;
  }

  /** The raw reply frames (after the delimiter) to any request frames, for tools that look at the bytes. */
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
      this.socket = new Dealer({ receiveTimeout: this.options.timeoutMs, sendTimeout: this.options.timeoutMs, linger: 0, ...this.options.curve });
      this.socket.connect(this.options.endpoints[this.current]!);
    }
    return this.socket;
  }

  /** Closes the socket of a service that did not answer (a late reply must never be taken for a later request's) and moves on. */
  private abandonCurrent(): void {
    this.switchService();
    this.failovers++;
  }

  /** The next request goes to the next service; with one service, nothing changes. */
  private moveOn(): void {
    if (this.options.endpoints.length > 1) this.switchService();
  }

  private switchService(): void {
    this.socket?.close();
    this.socket = undefined;
    this.current = (this.current + 1) % this.options.endpoints.length;
  }
}

/** The records of an OK reply; an ERR reply as a SnapshotError. */
function records(reply: SnapshotReply): DecodedMessage[] {
  if (reply.status === SnapshotStatus.ERR) throw new SnapshotError(reply.code, reply.text);
  if (reply.status !== SnapshotStatus.OK) throw new WireError('reply', 'a record request answered PONG');
  return reply.records;
}
