import { PLAIN_ROLE_CONTEXT } from '../helpers/role-context.js';
import { Subscriber } from 'zeromq';
import { loadConfig } from '../../src/cli/config.js';
import { startFeedRole, type FeedRole } from '../../src/feeds/index.js';
import { pino } from 'pino';
import { decodeMessage, type DecodedMessage } from '../../src/wire/index.js';
import { ipcDir } from '../helpers/tickfan-process.js';
import { Conditions } from '../helpers/conditions.js';

/**
 * A feed role in this process with a plain SUB socket standing in for the proxy: the SUB binds
 * the frontend the publisher connects to, so the test sees exactly what the feed publishes.
 */
export class FeedFabric {
  readonly dir = ipcDir();
  readonly messages: DecodedMessage[] = [];
  readonly conditions = new Conditions();
  private readonly subscriber = new Subscriber({ linger: 0 });
  role!: FeedRole;

  /** Binds the SUB for `prefixes`, then starts the feed role with `env` (TICKFAN_* settings). */
  async start(prefixes: readonly string[], env: Record<string, string>): Promise<this> {
    const frontend = this.dir.endpoint('frontend');
    await this.subscriber.bind(frontend);
    for (const prefix of prefixes) this.subscriber.subscribe(prefix);
    void this.receive();
    const config = loadConfig({
      env: {
        TICKFAN_CONNECT_FRONTEND: frontend,
        TICKFAN_FEEDS_SUBSCRIBER_WAIT_MS: '5000',
        TICKFAN_FEEDS_SIMULATED_ENABLED: 'false',
        TICKFAN_FEEDS_INGEST_ENDPOINT: this.dir.endpoint('ingest'),
        ...env,
      },
      overrides: { roles: ['feed'] },
    });
    this.role = await startFeedRole(config, pino({ level: 'silent' }), PLAIN_ROLE_CONTEXT);
    return this;
  }

  of(topicPrefix: string): DecodedMessage[] {
    return this.messages.filter((m) => m.topic.startsWith(topicPrefix));
  }

  until(done: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return this.conditions.until(done, timeoutMs, () => `${what}; received ${this.messages.length} messages`);
  }

  async stop(): Promise<void> {
    await this.role.stop();
  }

  /** Stops the role if running, then closes the SUB; it receives until then, so shutdown messages are seen. */
  async close(): Promise<void> {
    this.subscriber.close();
    this.dir.cleanup();
  }

  private async receive(): Promise<void> {
    try {
      for await (const frames of this.subscriber) {
        this.messages.push(decodeMessage(frames));
        this.conditions.check();
      }
    } catch {
      // Closed.
    }
  }
}
