import { randomInt } from 'node:crypto';
import type { TickfanConfig } from '../config/index.js';
import type { Logger } from '../log/index.js';
import type { FeedAdapter, RecordSink } from './adapter.js';
import { TickPublisher } from './publisher.js';
import { DEFAULT_INSTRUMENTS, SimulatedFeed } from './simulated/index.js';

export interface FeedRole {
  readonly publisher: TickPublisher;
  stop(): Promise<void>;
}

/** The feed role: the configured adapters behind one publisher connected to the proxy frontend. */
export async function startFeedRole(config: TickfanConfig, log: Logger): Promise<FeedRole> {
  const { feeds, connect, zmq } = config;
  const publisher = new TickPublisher(
    { endpoint: connect.frontend, sendHwm: feeds.sendHwm, queueLimit: feeds.queueLimit, lingerMs: zmq.lingerMs, subscriberWaitMs: feeds.subscriberWaitMs },
    log,
  );
  await publisher.connect();
  const adapters: FeedAdapter[] = [];
  if (feeds.simulated.enabled) {
    const { rate, instruments } = feeds.simulated;
    const seed = feeds.simulated.seed ?? randomInt(0, 0x1_0000_0000);
    adapters.push(new SimulatedFeed({ instruments: instruments.length > 0 ? instruments : DEFAULT_INSTRUMENTS, rate, seed }));
    log.info({ adapter: 'simulated', rate, seed, instruments: instruments.length || DEFAULT_INSTRUMENTS.length }, 'feed starting');
  }
  const sink: RecordSink = (record) => {
    publisher.publish(record);
  };
  await Promise.all(adapters.map((adapter) => adapter.start(sink)));
  return {
    publisher,
    async stop() {
      await Promise.all(adapters.map((adapter) => adapter.stop()));
      await publisher.close();
      log.info({ published: publisher.published, dropped: publisher.dropped, epoch: publisher.epoch }, 'feed stopped');
    },
  };
}
