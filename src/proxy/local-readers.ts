import type { LocalBackend, LocalLine, LocalReader } from '../util/local-backends.js';

/**
 * The proxy's readers in its own process (src/util/local-backends.ts): every message the js
 * forwarding loop receives goes to each of them, and their prefixes are subscribed upstream
 * on the frontend once per prefix, as the XPUB passes its subscribers' prefixes on, so feeds
 * still send only what someone wants. It outlives the sockets: a rebuild (a CURVE revocation)
 * subscribes every held prefix on the new frontend, and the readers see their line go down and
 * up again, as a SUB socket's readers would.
 */
export class LocalReaders implements LocalBackend {
  private readonly readers = new Set<LocalReader>();
  /** Each prefix some line holds, with the number of subscriptions holding it. */
  private readonly held = new Map<string, number>();
  /** Sends a subscription message on the frontend of the forwarding loop running now. */
  private subscribeUpstream: ((message: Buffer) => void) | undefined;

  get up(): boolean {
    return this.subscribeUpstream !== undefined;
  }

  get count(): number {
    return this.readers.size;
  }

  attach(reader: LocalReader): LocalLine {
    this.readers.add(reader);
    const own = new Map<string, number>();
    return {
      subscribe: (prefix) => {
        own.set(prefix, (own.get(prefix) ?? 0) + 1);
        this.hold(prefix);
      },
      unsubscribe: (prefix) => {
        // As a SUB socket does: taking back a prefix never subscribed does nothing.
        const times = own.get(prefix);
        if (times === undefined) return;
        if (times === 1) own.delete(prefix);
        else own.set(prefix, times - 1);
        this.release(prefix);
      },
      close: () => {
        if (!this.readers.delete(reader)) return;
        for (const [prefix, times] of own) for (let i = 0; i < times; i++) this.release(prefix);
        own.clear();
      },
    };
  }

  /** A forwarding loop started on new sockets: every held prefix is subscribed through it, and the readers' line is up. */
  started(subscribeUpstream: (message: Buffer) => void): void {
    this.subscribeUpstream = subscribeUpstream;
    for (const prefix of this.held.keys()) subscribeUpstream(subscription(SUBSCRIBE, prefix));
    for (const reader of this.readers) reader.lineChanged(true);
  }

  /** The forwarding loop stopped (its sockets closed): the readers' line is down. */
  stopped(): void {
    if (this.subscribeUpstream === undefined) return;
    this.subscribeUpstream = undefined;
    for (const reader of this.readers) reader.lineChanged(false);
  }

  /** The proxy closed: its readers go on over sockets (to whatever binds the endpoint next). */
  detachAll(): void {
    this.stopped();
    const readers = [...this.readers];
    this.readers.clear();
    this.held.clear();
    for (const reader of readers) reader.detached();
  }

  forward(frames: Buffer[]): void {
    for (const reader of this.readers) reader.receive(frames);
  }

  private hold(prefix: string): void {
    const times = this.held.get(prefix) ?? 0;
    this.held.set(prefix, times + 1);
    if (times === 0) this.subscribeUpstream?.(subscription(SUBSCRIBE, prefix));
  }

  private release(prefix: string): void {
    const times = this.held.get(prefix)!;
    if (times > 1) {
      this.held.set(prefix, times - 1);
      return;
    }
    this.held.delete(prefix);
    this.subscribeUpstream?.(subscription(UNSUBSCRIBE, prefix));
  }
}

/** The flag byte of ZeroMQ's subscription message, as a SUB or XPUB sends it upstream, before the prefix. */
export const SUBSCRIBE = 1;
const UNSUBSCRIBE = 0;

function subscription(flag: typeof SUBSCRIBE | typeof UNSUBSCRIBE, prefix: string): Buffer {
  return Buffer.concat([Buffer.from([flag]), Buffer.from(prefix)]);
}
