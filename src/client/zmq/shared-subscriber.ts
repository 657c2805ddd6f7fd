import { Subscriber } from 'zeromq';
import type { CurveClientKeys } from '../../curve/index.js';
import { TCP_KEEPALIVE } from '../../util/keepalive.js';
import { localBackendAt, type LocalLine } from '../../util/local-backends.js';
import { Received } from './received.js';

/** How a shared socket is set up: streams share one only when all of this is the same. */
export interface SocketSetup {
  readonly endpoint: string;
  readonly receiveHwm: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly curve?: CurveClientKeys | undefined;
}

/** One reader of a shared socket: the prefixes it wants and where its messages go. */
export interface Tap {
  readonly prefixes: readonly string[];
  /**
   * Takes a message that matches one of its prefixes. Returns false when its reader is too far
   * behind to take it: the message is then lost for this tap only (a seq gap it repairs), as
   * ZeroMQ drops past a socket's high-water mark, so one slow reader never stalls the others.
   */
  deliver(message: Received): boolean;
  /** The socket's ZMTP handshake completed (true) or its connection dropped (false). */
  lineChanged(up: boolean): void;
  /** The socket failed for good: its reader ends with this error. */
  failed(err: Error): void;
}

/**
 * One ZeroMQ SUB socket per proxy backend and process, shared by every stream of the process
 * that reads it (the snapshot service and the gateway in the all-in-one, a gateway's
 * overlapping prefixes). Each tick then costs one receive, one decode and one parse in the
 * process, however many readers want it: zeromq.js's receive (a native call, buffers and a
 * promise per message) is the largest cost per tick of a subscribing role.
 *
 * The socket subscribes to every tap's prefixes (libzmq counts a prefix subscribed twice, so
 * each tap's unsubscribe takes back only its own) and hands each message to the taps whose
 * prefixes it matches. When the proxy of that backend runs in this very process (the
 * all-in-one), its messages come from the proxy's loop instead of a socket (a LocalLine of
 * src/util/local-backends.ts), with the same subscriptions and the same matching.
 */
export class SharedSubscriber {
  private static readonly open = new Map<string, SharedSubscriber>();

  private source: Source;
  /** Every tap with its prefixes as bytes, as ZeroMQ matches them. */
  private readonly taps = new Map<Tap, readonly Buffer[]>();
  private connected = false;
  private closed = false;

  /** Joins the process's socket of this setup, opening it for the first tap. */
  static join(setup: SocketSetup, tap: Tap): SharedSubscriber {
    const key = setupKey(setup);
    let shared = SharedSubscriber.open.get(key);
    if (shared === undefined) {
      shared = new SharedSubscriber(setup, () => SharedSubscriber.open.delete(key));
      SharedSubscriber.open.set(key, shared);
    }
    shared.add(tap);
    return shared;
  }

  private constructor(private readonly setup: SocketSetup, private readonly forget: () => void) {
    // A reader with CURVE keys connects: ZAP must see its key (the proxy offers no local line then either).
    const local = setup.curve === undefined ? localBackendAt(setup.endpoint) : undefined;
    if (local === undefined) {
      this.source = this.openSocket();
      return;
    }
    this.source = local.attach({
      receive: (frames) => this.dispatch(frames),
      lineChanged: (up) => this.setConnected(up),
      detached: () => this.readOverSocket(),
    });
    this.connected = local.up;
  }

  /** Whether the proxy is connected and answering now. */
  get up(): boolean {
    return this.connected;
  }

  /** Takes the tap's prefixes back; the last tap closes the socket. */
  leave(tap: Tap): void {
    if (!this.taps.delete(tap)) return;
    if (this.taps.size === 0) {
      this.forget();
      this.closed = true;
      this.source.close();
      return;
    }
    for (const prefix of tap.prefixes) this.source.unsubscribe(prefix);
  }

  private add(tap: Tap): void {
    this.taps.set(tap, tap.prefixes.map((prefix) => Buffer.from(prefix)));
    for (const prefix of tap.prefixes) this.source.subscribe(prefix);
    // A tap joining a connected socket learns it is up as it would from the handshake event.
    if (this.connected) queueMicrotask(() => this.taps.has(tap) && this.connected && tap.lineChanged(true));
  }

  private setConnected(up: boolean): void {
    if (up === this.connected || this.closed) return;
    this.connected = up;
    for (const tap of this.taps.keys()) tap.lineChanged(up);
  }

  private dispatch(frames: Buffer[]): void {
    const message = new Received(frames);
    for (const [tap, prefixes] of this.taps) if (matches(prefixes, message.topicFrame)) tap.deliver(message);
  }

  /** The in-process proxy closed: every tap's prefixes go on over a socket to the endpoint. */
  private readOverSocket(): void {
    if (this.closed) return;
    this.setConnected(false);
    this.source = this.openSocket();
    for (const tap of this.taps.keys()) for (const prefix of tap.prefixes) this.source.subscribe(prefix);
  }

  private openSocket(): Subscriber {
    const { setup } = this;
    const socket = new Subscriber({
      ...TCP_KEEPALIVE,
      receiveHighWaterMark: setup.receiveHwm,
      linger: 0,
      heartbeatInterval: setup.heartbeatIntervalMs,
      heartbeatTimeout: setup.heartbeatTimeoutMs,
      ...setup.curve,
    });
    socket.events.on('handshake', () => this.setConnected(true));
    socket.events.on('disconnect', () => this.setConnected(false));
    socket.connect(setup.endpoint);
    void this.pump(socket);
    return socket;
  }

  private async pump(socket: Subscriber): Promise<void> {
    try {
      for await (const frames of socket) this.dispatch(frames);
    } catch (err) {
      // Closing the socket ends the iteration; anything else is a real failure of every reader.
      if (socket.closed) return;
      this.forget();
      this.closed = true;
      socket.close();
      for (const tap of this.taps.keys()) tap.failed(err as Error);
    }
  }
}

/** Where a shared subscriber's messages come from: a SUB socket, or the line of a proxy in this process. */
type Source = Pick<Subscriber, 'subscribe' | 'unsubscribe' | 'close'> | LocalLine;

/** Whether the first frame starts with one of the prefixes: ZeroMQ's own rule, on bytes. */
function matches(prefixes: readonly Buffer[], topic: Buffer | undefined): boolean {
  for (const prefix of prefixes) {
    if (prefix.length === 0) return true;
    if (topic !== undefined && topic.length >= prefix.length && topic.compare(prefix, 0, prefix.length, 0, prefix.length) === 0) return true;
  }
  return false;
}

function setupKey({ endpoint, receiveHwm, heartbeatIntervalMs, heartbeatTimeoutMs, curve }: SocketSetup): string {
  return JSON.stringify([endpoint, receiveHwm, heartbeatIntervalMs, heartbeatTimeoutMs, curve?.curveServerKey, curve?.curvePublicKey]);
}
