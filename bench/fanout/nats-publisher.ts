/**
 * The bench feed's NATS sink: ticks as NATS messages over one TCP connection, one subject per
 * topic (natsSubjectOf), each payload the very event a tickfan client gets for that tick
 * (`{"type":"tick","topic":..,"epoch":..,"seq":..,"ts":..,"data":<record>}`), so both peers'
 * clients read and check the same bytes. Like TickPublisher it validates and encodes each
 * record, assigns the run's epoch and a per-topic seq without holes, and stamps ts; the PUBs
 * of a burst go out in one write.
 */
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { encodeTickRecord, nowMicros, parseTopic, tickTopic, validateTickRecord, type ParsedTopic, type TickRecord } from '../../src/wire/index.js';
import { NatsParser, publisherConnectLines, pubLine } from './nats-protocol.js';

/** Beyond this much unsent in the socket, ticks are dropped and counted, as TickPublisher's bounded queue does. */
const WRITE_BUFFER_LIMIT_BYTES = 32 * 1024 * 1024;
const CONNECT_MS = 10_000;

interface TopicState {
  readonly topic: string;
  readonly parsed: ParsedTopic;
  readonly subject: string;
  seq: number;
}

export class NatsPublisher {
  readonly epoch = randomInt(1, 0x1_0000_0000);
  published = 0;
  dropped = 0;
  private readonly socket: Socket;
  private readonly topics = new Map<string, TopicState>();
  private batch = '';
  private failure: Error | undefined;

  private constructor(socket: Socket, private readonly subjectOf: (topic: string) => string) {
    this.socket = socket;
  }

  /** Connects to nats-server at 127.0.0.1:port; resolves once the server has answered the CONNECT's PING. */
  static async connect(port: number, subjectOf: (topic: string) => string): Promise<NatsPublisher> {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true });
    const publisher = new NatsPublisher(socket, subjectOf);
    let ponged!: () => void;
    const ready = new Promise<void>((resolve) => (ponged = resolve));
    const parser = new NatsParser({
      msg: () => publisher.fail(new Error('nats-server sent a MSG to the publisher, which subscribes to nothing')),
      ping: () => socket.write('PONG\r\n'),
      pong: () => ponged(),
      info: () => undefined,
      error: (message) => publisher.fail(new Error(`nats-server answered the publisher with -ERR ${message}`)),
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        parser.push(chunk, 0, chunk.length);
      } catch (err) {
        publisher.fail(err as Error);
      }
    });
    socket.on('error', (err) => publisher.fail(err));
    await once(socket, 'connect');
    socket.write(publisherConnectLines());
    const late = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`nats-server did not answer the publisher's PING within ${CONNECT_MS} ms`)), CONNECT_MS).unref());
    await Promise.race([ready, late]);
    return publisher;
  }

  /** Validates and queues one tick; it goes out with the next flush(). */
  publish(record: TickRecord): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.socket.writableLength > WRITE_BUFFER_LIMIT_BYTES) {
      this.dropped++;
      return;
    }
    const state = this.stateOf(tickTopic(record.venue, record.symbol));
    validateTickRecord(state.parsed, record);
    state.seq++;
    const event = `{"type":"tick","topic":${JSON.stringify(state.topic)},"epoch":${this.epoch},"seq":${state.seq},"ts":${nowMicros()},"data":${encodeTickRecord(record).toString('latin1')}}`;
    this.batch += pubLine(state.subject, event);
    this.published++;
  }

  /** Sends what publish() queued since the last flush, in one write. */
  flush(): void {
    if (this.batch === '') return;
    this.socket.write(this.batch, 'latin1');
    this.batch = '';
  }

  async close(): Promise<void> {
    this.flush();
    this.socket.end();
    if (!this.socket.destroyed) await Promise.race([once(this.socket, 'close'), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
    this.socket.destroy();
  }

  private stateOf(topic: string): TopicState {
    let state = this.topics.get(topic);
    if (state === undefined) {
      state = { topic, parsed: parseTopic(topic), subject: this.subjectOf(topic), seq: 0 };
      this.topics.set(topic, state);
    }
    return state;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.socket.destroy();
  }
}
