import { TickSubscriber, type Update } from '../client/zmq/index.js';
import type { Logger } from '../log/index.js';

export interface UpstreamOptions {
  readonly backend: string;
  readonly snapshotEndpoints: readonly string[];
  readonly snapshotTimeoutMs: number;
  readonly receiveHwm: number;
}

interface Feed {
  readonly subscriber: TickSubscriber;
  refs: number;
}

/**
 * The gateway's interest in the fabric, following its clients' interest the ZeroMQ way:
 * one late-joining subscriber (clone pattern: subscribe, snapshot, repair) per prefix that
 * some client's pattern needs, opened on first use and closed when the last client leaves,
 * so an idle gateway receives nothing and feeds send only what someone wants.
 *
 * Overlapping prefixes each keep their own subscriber; the cache downstream keeps only the
 * newest seq of a topic, so an update arriving twice is applied once.
 */
export class Upstream {
  private readonly feeds = new Map<string, Feed>();

  constructor(
    private readonly options: UpstreamOptions,
    private readonly onUpdate: (update: Update) => void,
    private readonly log: Logger,
  ) {}

  get prefixes(): string[] {
    return [...this.feeds.keys()];
  }

  /** Takes a reference on `prefix`; resolves once its state is held (its snapshot applied). */
  async want(prefix: string): Promise<void> {
    let feed = this.feeds.get(prefix);
    if (feed === undefined) {
      const subscriber = new TickSubscriber({
        endpoint: this.options.backend,
        prefix,
        snapshotEndpoints: this.options.snapshotEndpoints,
        snapshotTimeoutMs: this.options.snapshotTimeoutMs,
        receiveHwm: this.options.receiveHwm,
      });
      feed = { subscriber, refs: 0 };
      this.feeds.set(prefix, feed);
      void this.pump(prefix, subscriber);
      this.log.info({ prefix }, 'upstream subscribed');
    }
    feed.refs++;
    try {
      await feed.subscriber.ready;
    } catch (err) {
      this.unwant(prefix);
      throw err;
    }
  }

  unwant(prefix: string): void {
    const feed = this.feeds.get(prefix);
    if (feed === undefined || --feed.refs > 0) return;
    this.feeds.delete(prefix);
    void feed.subscriber.close();
    this.log.info({ prefix }, 'upstream unsubscribed');
  }

  async close(): Promise<void> {
    const closing = [...this.feeds.values()].map((feed) => feed.subscriber.close());
    this.feeds.clear();
    await Promise.all(closing);
  }

  private async pump(prefix: string, subscriber: TickSubscriber): Promise<void> {
    try {
      for await (const update of subscriber) this.onUpdate(update);
    } catch (err) {
      this.log.error({ prefix, err: (err as Error).message }, 'upstream subscriber failed');
    }
  }
}
